package main

import (
	"context"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func inputs(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func base() map[string]any {
	return map[string]any{
		"connection": map[string]any{"host": "127.0.0.1", "port": 22.0, "user": "root"},
		"create":     "run-formula",
		"stdin":      "A=1\n",
		"triggers":   []any{"digest-1"},
	}
}

// The diff decides what `up` does to a formula phase: run it again (update), re-create it
// (replace, the SDK's replaceOnChanges on triggers), or nothing.
func TestDiff(t *testing.T) {
	p := newCommandProvider(nil)
	cases := []struct {
		name     string
		edit     func(m map[string]any)
		changes  bool
		replaces []string
	}{
		{"nothing changed", func(map[string]any) {}, false, nil},
		{"a trigger changed: replace", func(m map[string]any) { m["triggers"] = []any{"digest-2"} }, true, []string{"triggers"}},
		{"stdin changed: update", func(m map[string]any) { m["stdin"] = "A=2\n" }, true, nil},
		{"a value not known yet counts as changed", func(m map[string]any) { m["stdin"] = unknown }, true, nil},
		{"an absent and a null delete are the same", func(m map[string]any) { m["delete"] = nil }, false, nil},
		{"connection changed: update", func(m map[string]any) {
			m["connection"] = map[string]any{"host": "127.0.0.2", "port": 22.0, "user": "root"}
		}, true, nil},
	}
	for _, c := range cases {
		news := base()
		c.edit(news)
		resp, err := p.Diff(context.Background(), &pulumirpc.DiffRequest{OldInputs: inputs(t, base()), News: inputs(t, news)})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := resp.GetChanges() == pulumirpc.DiffResponse_DIFF_SOME; got != c.changes {
			t.Errorf("%s: changes = %v, want %v", c.name, got, c.changes)
		}
		if len(resp.GetReplaces()) != len(c.replaces) || (len(c.replaces) == 1 && resp.GetReplaces()[0] != c.replaces[0]) {
			t.Errorf("%s: replaces = %v, want %v", c.name, resp.GetReplaces(), c.replaces)
		}
	}
}

// A connection-only change keeps the outputs and runs nothing (there is no host to reach here).
func TestUpdateWithoutRerunKeysRunsNothing(t *testing.T) {
	p := newCommandProvider(nil)
	olds := base()
	olds["stdout"] = "before"
	news := base()
	news["connection"] = map[string]any{"host": "192.0.2.1", "port": 22.0, "user": "root"}
	resp, err := p.Update(context.Background(), &pulumirpc.UpdateRequest{Olds: inputs(t, olds), OldInputs: inputs(t, base()), News: inputs(t, news)})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetProperties().GetFields()["stdout"].GetStringValue(); got != "before" {
		t.Errorf("stdout = %q, want the previous output", got)
	}
}

func TestCheckRefusesWhatIsNotSupported(t *testing.T) {
	p := newCommandProvider(nil)
	news := base()
	news["connection"] = map[string]any{"host": "127.0.0.1", "proxy": map[string]any{"host": "127.0.0.2"}}
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: "urn:pulumi:s::p::command:remote:Command::x", News: inputs(t, news)})
	if err != nil || len(resp.GetFailures()) != 1 || resp.GetFailures()[0].GetProperty() != "connection.proxy" {
		t.Fatalf("failures = %v, err = %v", resp.GetFailures(), err)
	}
	if _, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: "urn:pulumi:s::p::command:local:Command::x", News: inputs(t, base())}); err == nil {
		t.Fatal("local.Command was accepted")
	}
}
