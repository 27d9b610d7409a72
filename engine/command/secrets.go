package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"google.golang.org/protobuf/types/known/structpb"
)

// The plugin accepts secrets (Configure): the engine sends a secret input as an object
// {SigKey: SecretSig, "value": v} and keeps as secret whatever comes back wrapped the same way.
// The commands run on the plain values; stdout and stderr come back secret when a secret went into
// the command (create, update, delete, stdin, environment, triggers): a formula's output may
// repeat what it was given. The connection's secrets (key, password) authenticate the session and
// never reach the command, so they alone do not make the output secret.

// isSecret says whether v is the engine's wrapper of a secret value.
func isSecret(v *structpb.Value) bool {
	f := v.GetStructValue().GetFields()
	return f[resource.SigKey].GetStringValue() == resource.SecretSig
}

// reveal returns v with every secret inside it replaced by its value, and whether it held one.
func reveal(v *structpb.Value) (*structpb.Value, bool) {
	if isSecret(v) {
		inner, _ := reveal(v.GetStructValue().GetFields()["value"])
		if inner == nil {
			inner = structpb.NewNullValue()
		}
		return inner, true
	}
	switch k := v.GetKind().(type) {
	case *structpb.Value_StructValue:
		s, secret := revealStruct(k.StructValue)
		return structpb.NewStructValue(s), secret
	case *structpb.Value_ListValue:
		secret := false
		out := make([]*structpb.Value, len(k.ListValue.GetValues()))
		for i, e := range k.ListValue.GetValues() {
			var s bool
			out[i], s = reveal(e)
			secret = secret || s
		}
		return structpb.NewListValue(&structpb.ListValue{Values: out}), secret
	}
	return v, false
}

// revealStruct is reveal for an object: the plain object, and the keys that held a secret.
func revealStruct(s *structpb.Struct) (*structpb.Struct, bool) {
	plain, keys := revealFields(s)
	return plain, len(keys) > 0
}

func revealFields(s *structpb.Struct) (*structpb.Struct, map[string]bool) {
	out := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	keys := map[string]bool{}
	for k, v := range s.GetFields() {
		plain, secret := reveal(v)
		out.Fields[k] = plain
		if secret {
			keys[k] = true
		}
	}
	return out, keys
}

// secretInput says whether an input other than the connection held a secret.
func secretInput(keys map[string]bool) bool {
	for k := range keys {
		if k != "connection" {
			return true
		}
	}
	return false
}

// asSecret wraps v as a secret for the engine.
func asSecret(v *structpb.Value) *structpb.Value {
	return structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
		resource.SigKey: structpb.NewStringValue(resource.SecretSig),
		"value":         v,
	}})
}
