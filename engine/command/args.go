package main

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// connection is remote.Command's `connection` (the SDK has already applied its defaults).
type connection struct {
	Host               string
	Port               int
	User               string
	Password           string
	PrivateKey         string
	PrivateKeyPassword string
	AgentSocketPath    string
	HostKey            string
	DialErrorLimit     int // -1: no limit
	PerDialTimeout     int // seconds
}

type commandArgs struct {
	Connection             connection
	Create, Update, Delete string
	Stdin                  string
	Environment            map[string]string
	Logging                string
	AddPreviousOutputInEnv bool
}

// logs says whether a line of this severity goes to the engine's log, per `logging`.
func (a *commandArgs) logs(sev diag.Severity) bool {
	switch a.Logging {
	case "none":
		return false
	case "stdout":
		return sev == diag.Info
	case "stderr":
		return sev == diag.Warning
	}
	return true // stdoutAndStderr, the default
}

func parseArgs(s *structpb.Struct) (*commandArgs, error) {
	f := s.GetFields()
	a := &commandArgs{
		Create:                 f["create"].GetStringValue(),
		Update:                 f["update"].GetStringValue(),
		Delete:                 f["delete"].GetStringValue(),
		Stdin:                  f["stdin"].GetStringValue(),
		Logging:                f["logging"].GetStringValue(),
		AddPreviousOutputInEnv: true,
		Environment:            map[string]string{},
	}
	if v, ok := f["addPreviousOutputInEnv"]; ok {
		if _, isBool := v.GetKind().(*structpb.Value_BoolValue); isBool {
			a.AddPreviousOutputInEnv = v.GetBoolValue()
		}
	}
	for k, v := range f["environment"].GetStructValue().GetFields() {
		a.Environment[k] = v.GetStringValue()
	}
	c := f["connection"].GetStructValue().GetFields()
	a.Connection = connection{
		Host:               c["host"].GetStringValue(),
		Port:               intOr(c["port"], 22),
		User:               c["user"].GetStringValue(),
		Password:           c["password"].GetStringValue(),
		PrivateKey:         c["privateKey"].GetStringValue(),
		PrivateKeyPassword: c["privateKeyPassword"].GetStringValue(),
		AgentSocketPath:    c["agentSocketPath"].GetStringValue(),
		HostKey:            c["hostKey"].GetStringValue(),
		DialErrorLimit:     intOr(c["dialErrorLimit"], 10),
		PerDialTimeout:     intOr(c["perDialTimeout"], 15),
	}
	if a.Connection.User == "" {
		a.Connection.User = "root"
	}
	if a.Connection.Host == "" {
		return nil, fmt.Errorf("connection.host is empty")
	}
	if a.Connection.PerDialTimeout < 1 {
		a.Connection.PerDialTimeout = 15
	}
	return a, nil
}

func intOr(v *structpb.Value, def int) int {
	if n, ok := v.GetKind().(*structpb.Value_NumberValue); ok {
		return int(n.NumberValue)
	}
	return def
}

// changedKeys lists the inputs that differ; a value not yet known counts as changed.
func changedKeys(olds, news *structpb.Struct) []string {
	var out []string
	for _, k := range inputKeys {
		o, n := olds.GetFields()[k], news.GetFields()[k]
		if hasUnknown(n) || !sameValue(o, n) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sameValue(a, b *structpb.Value) bool {
	isNull := func(v *structpb.Value) bool {
		_, null := v.GetKind().(*structpb.Value_NullValue)
		return v == nil || null
	}
	if isNull(a) || isNull(b) {
		return isNull(a) && isNull(b)
	}
	return proto.Equal(a, b)
}

func hasUnknown(v *structpb.Value) bool {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return k.StringValue == unknown
	case *structpb.Value_ListValue:
		for _, e := range k.ListValue.GetValues() {
			if hasUnknown(e) {
				return true
			}
		}
	case *structpb.Value_StructValue:
		for _, e := range k.StructValue.GetFields() {
			if hasUnknown(e) {
				return true
			}
		}
	}
	return false
}
