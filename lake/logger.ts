import pino, { type Logger } from "pino";

/**
 * The root logger: JSON lines when piped (for machines), pino-pretty on a terminal (for people).
 * LAKEFORM_LOG_LEVEL sets the level (default info); LAKEFORM_LOG_FORMAT=json|pretty forces a format.
 */
export function createLogger(name = "lakeform", destination: NodeJS.WritableStream = process.stderr): Logger {
  const level = process.env.LAKEFORM_LOG_LEVEL ?? "info";
  const pretty = process.env.LAKEFORM_LOG_FORMAT ? process.env.LAKEFORM_LOG_FORMAT === "pretty" : Boolean((destination as NodeJS.WriteStream).isTTY);
  if (pretty) {
    return pino({
      name,
      level,
      transport: { target: "pino-pretty", options: { destination: 2, colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname,name" } },
    });
  }
  return pino({ name, level }, destination as pino.DestinationStream);
}
