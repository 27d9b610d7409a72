package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const remoteCommand = "command:remote:Command"

// unknown is the engine's sentinel for a value not known during a preview.
const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

// inputKeys are remote.Command's inputs; its outputs add stdout and stderr.
var inputKeys = []string{"addPreviousOutputInEnv", "connection", "create", "delete", "environment", "logging", "stdin", "triggers", "update"}

// rerunKeys are the inputs whose change runs the update (or create) command again.
var rerunKeys = map[string]bool{"create": true, "update": true, "stdin": true, "environment": true}

type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
	host *provider.HostClient

	// Done on Cancel (the operator's Ctrl-C): connections still being dialled give up, since
	// nothing was sent yet; a command already running goes on to its end. Cutting its session
	// would leave a formula half done on the machine (dpkg mid-unpack was seen in the lab), and the
	// engine records the step either way. A second Ctrl-C ends the engine, and then the command.
	canceled context.Context
	cancel   context.CancelFunc
}

func newCommandProvider(host *provider.HostClient) *commandProvider {
	canceled, cancel := context.WithCancel(context.Background())
	return &commandProvider{host: host, canceled: canceled, cancel: cancel}
}

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *commandProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *commandProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *commandProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	// acceptSecrets=true: secret inputs arrive wrapped (secrets.go), so that the plugin knows a
	// command's input was secret and returns its stdout and stderr as secrets too; the engine
	// itself would only keep secret the outputs named like a secret input.
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *commandProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.cancel()
	return &emptypb.Empty{}, nil
}

func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := supported(req.GetUrn()); err != nil {
		return nil, err
	}
	plain, _ := revealStruct(req.GetNews())
	news := plain.GetFields()
	var failures []*pulumirpc.CheckFailure
	conn, ok := news["connection"]
	switch {
	case !ok:
		failures = append(failures, &pulumirpc.CheckFailure{Property: "connection", Reason: "missing required property"})
	case conn.GetStructValue() != nil:
		if _, has := conn.GetStructValue().GetFields()["host"]; !has {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "connection.host", Reason: "missing required property"})
		}
		if _, has := conn.GetStructValue().GetFields()["proxy"]; has {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "connection.proxy", Reason: "proxy connections are not supported by Kinetic's command plugin"})
		}
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds := req.GetOldInputs()
	if olds == nil {
		olds = req.GetOlds()
	}
	// Compared as plain values: a value becoming secret (or no longer) is not a reason to run again.
	plainOlds, _ := revealStruct(olds)
	plainNews, _ := revealStruct(req.GetNews())
	changed := changedKeys(plainOlds, plainNews)
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true, DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	for _, k := range changed {
		kind := pulumirpc.PropertyDiff_UPDATE
		if k == "triggers" {
			kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
			resp.Replaces = append(resp.Replaces, k)
		}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
		resp.Diffs = append(resp.Diffs, k)
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	return resp, nil
}

func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := supported(req.GetUrn()); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	in := req.GetProperties()
	plain, keys := revealFields(in)
	secret := secretInput(keys)
	if req.GetPreview() {
		return &pulumirpc.CreateResponse{Id: id, Properties: withOutputs(in, unknown, unknown, secret)}, nil
	}
	args, err := parseArgs(plain)
	if err != nil {
		return nil, err
	}
	if args.Create == "" {
		return &pulumirpc.CreateResponse{Id: id, Properties: withOutputs(in, "", "", secret)}, nil
	}
	out, err := p.run(ctx, req.GetUrn(), args, args.Create, nil, deadline(req.GetTimeout()))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: withOutputs(in, out.stdout, out.stderr, secret)}, nil
}

func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	in := req.GetNews()
	plainIn, keys := revealFields(in)
	secret := secretInput(keys)
	if req.GetPreview() {
		return &pulumirpc.UpdateResponse{Properties: withOutputs(in, unknown, unknown, secret)}, nil
	}
	olds := req.GetOldInputs()
	if olds == nil {
		olds = req.GetOlds()
	}
	plainOlds, _ := revealStruct(olds)
	prevState, _ := revealStruct(req.GetOlds())
	prevOut, prevErr := stringField(prevState, "stdout"), stringField(prevState, "stderr")
	rerun := false
	for _, k := range changedKeys(plainOlds, plainIn) {
		rerun = rerun || rerunKeys[k]
	}
	if !rerun {
		return &pulumirpc.UpdateResponse{Properties: withOutputs(in, prevOut, prevErr, secret)}, nil
	}
	args, err := parseArgs(plainIn)
	if err != nil {
		return nil, err
	}
	cmd := args.Update
	if cmd == "" {
		cmd = args.Create
	}
	if cmd == "" {
		return &pulumirpc.UpdateResponse{Properties: withOutputs(in, prevOut, prevErr, secret)}, nil
	}
	out, err := p.run(ctx, req.GetUrn(), args, cmd, previous(args, prevOut, prevErr), deadline(req.GetTimeout()))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: withOutputs(in, out.stdout, out.stderr, secret)}, nil
}

func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	state := req.GetOldInputs()
	if state == nil {
		state = req.GetProperties()
	}
	plainState, _ := revealStruct(state)
	args, err := parseArgs(plainState)
	if err != nil {
		return nil, err
	}
	if args.Delete == "" {
		return &emptypb.Empty{}, nil
	}
	props, _ := revealStruct(req.GetProperties())
	if _, err := p.run(ctx, req.GetUrn(), args, args.Delete, previous(args, stringField(props, "stdout"), stringField(props, "stderr")), deadline(req.GetTimeout())); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Read returns the state as it is: a command's effect cannot be read back (as upstream).
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

// run executes one command over SSH, streaming its output into the engine's log for the resource.
func (p *commandProvider) run(ctx context.Context, urn string, args *commandArgs, cmd string, env map[string]string, limit time.Duration) (*result, error) {
	logf := func(sev diag.Severity, line string) {
		if args.logs(sev) {
			_ = p.host.Log(ctx, sev, resource.URN(urn), line)
		}
	}
	dialCtx, stopDial := context.WithCancel(ctx)
	defer stopDial()
	defer context.AfterFunc(p.canceled, stopDial)()
	s, err := dial(dialCtx, args.Connection, urn)
	if err != nil {
		if p.canceled.Err() != nil {
			return nil, fmt.Errorf("canceled before anything was sent: %w", err)
		}
		return nil, err
	}
	defer s.close()
	return s.run(cmd, args.Stdin, args.Environment, env, logf, limit)
}

func supported(urn string) error {
	if t := resource.URN(urn).Type(); urn != "" && string(t) != remoteCommand {
		return status.Errorf(codes.Unimplemented, "%s is not supported by Kinetic's command plugin (only %s)", t, remoteCommand)
	}
	return nil
}

func newID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating an id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// previous is the environment carrying the last outputs, unless addPreviousOutputInEnv is false.
func previous(args *commandArgs, stdout, stderr string) map[string]string {
	if !args.AddPreviousOutputInEnv {
		return nil
	}
	return map[string]string{"PULUMI_COMMAND_STDOUT": stdout, "PULUMI_COMMAND_STDERR": stderr}
}

// withOutputs is the inputs (secrets still wrapped) plus stdout and stderr, secret when `secret`:
// the resource's state.
func withOutputs(in *structpb.Struct, stdout, stderr string, secret bool) *structpb.Struct {
	fields := map[string]*structpb.Value{}
	for k, v := range in.GetFields() {
		fields[k] = v
	}
	fields["stdout"] = structpb.NewStringValue(stdout)
	fields["stderr"] = structpb.NewStringValue(stderr)
	if secret {
		fields["stdout"] = asSecret(fields["stdout"])
		fields["stderr"] = asSecret(fields["stderr"])
	}
	return &structpb.Struct{Fields: fields}
}

func stringField(s *structpb.Struct, key string) string {
	return s.GetFields()[key].GetStringValue()
}
