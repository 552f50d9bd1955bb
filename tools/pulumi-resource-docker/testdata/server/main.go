// A tiny HTTP server for the integration test's image: it counts requests in /data/count (a named
// volume, so the count survives the container being replaced), and answers with the count, the
// GREETING environment variable and the uploaded /etc/it/motd. `server -check` is its health check.
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-check" {
		r, err := http.Get("http://127.0.0.1:8080/healthz")
		if err != nil || r.StatusCode != 200 {
			fmt.Println("unhealthy:", err)
			os.Exit(1)
		}
		fmt.Println("healthy")
		return
	}
	var mu sync.Mutex
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		b, _ := os.ReadFile("/data/count")
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		n++
		if err := os.WriteFile("/data/count", []byte(strconv.Itoa(n)), 0o644); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		motd, _ := os.ReadFile("/etc/it/motd")
		fmt.Fprintf(w, "count=%d greeting=%s motd=%s\n", n, os.Getenv("GREETING"), strings.TrimSpace(string(motd)))
	})
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
