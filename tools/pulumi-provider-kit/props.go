package providerkit

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/types/known/structpb"
)

var marshalOptions = plugin.MarshalOptions{KeepUnknowns: true, SkipNulls: true}

// Unmarshal and Marshal convert between the engine's wire form and property maps, keeping values
// not known yet (preview) and dropping nulls.
func Unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, marshalOptions)
}

func Marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, marshalOptions)
}

// TypeOf is a resource URN's type token ("docker:index/network:Network").
func TypeOf(urn string) string { return string(resource.URN(urn).Type()) }

// GetStr and GetBool read a property, "" or false when it is absent or of another type.
func GetStr(m resource.PropertyMap, k string) string {
	if v := m[resource.PropertyKey(k)]; v.IsString() {
		return v.StringValue()
	}
	return ""
}

func GetBool(m resource.PropertyMap, k string) bool {
	if v := m[resource.PropertyKey(k)]; v.IsBool() {
		return v.BoolValue()
	}
	return false
}
