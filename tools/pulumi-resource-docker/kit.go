package main

// What this plugin takes from tools/pulumi-provider-kit (shared with the other stand-in plugin,
// through go.mod's replace), under the short names its code uses.

import providerkit "lakeform.local/pulumi-provider-kit"

type (
	field = providerkit.Field
	spec  = providerkit.Spec
)

var (
	checkFields  = providerkit.CheckFields
	diffFields   = providerkit.DiffFields
	diffResponse = providerkit.DiffResponse
	unmarshal    = providerkit.Unmarshal
	marshal      = providerkit.Marshal
	typeOf       = providerkit.TypeOf
	getStr       = providerkit.GetStr
	getBool      = providerkit.GetBool
	str          = providerkit.Str
	boolean      = providerkit.Bool
	num          = providerkit.Num
)
