package policy

import (
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in   string
		want string // the configuration address; "" when in is not an address
		mods string // the module path, comma-separated
		kind string
	}{
		{"aws_s3_bucket.logs", "aws_s3_bucket.logs", "", kindResource},
		{"aws_s3_bucket.logs[0]", "aws_s3_bucket.logs", "", kindResource},
		{`module.net["a.b"].aws_s3_bucket.logs["x]y"]`, "module.net.aws_s3_bucket.logs", "net", kindResource},
		{"module.net.module.flow.aws_flow_log.this", "module.net.module.flow.aws_flow_log.this", "net,flow", kindResource},
		{"data.aws_caller_identity.current", "data.aws_caller_identity.current", "", kindData},
		{"module.net.data.aws_caller_identity.current", "module.net.data.aws_caller_identity.current", "net", kindData},
		{"module.net", "module.net", "", kindModule},
		{"module.net[0].module.flow", "module.net.module.flow", "net", kindModule},
		{"var.region", "var.region", "", kindVariable},
		{"provider.aws", "provider.aws", "", kindProvider},
		{" my-rule.x-y ", "my-rule.x-y", "", kindResource},
		{"aws_s3_bucket", "", "", ""},
		{"aws_s3_bucket.logs.extra", "", "", ""},
		{"aws_s3_bucket.logs.", "", "", ""},
		{"aws_s3_bucket.logs[0", "", "", ""},
		{"data.aws_caller_identity", "", "", ""},
		{"module.net.var.region", "", "", ""},
		{"a b.c", "", "", ""},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, ok := parseAddress(tt.in)
			if !ok {
				if tt.want != "" {
					t.Fatalf("parseAddress(%q) failed, want %s", tt.in, tt.want)
				}
				return
			}
			if tt.want == "" {
				t.Fatalf("parseAddress(%q) = %+v, want a failure", tt.in, a)
			}
			if a.String() != tt.want || strings.Join(a.Modules, ",") != tt.mods || a.Kind != tt.kind {
				t.Errorf("parseAddress(%q) = %s (modules %v, kind %s), want %s (modules %s, kind %s)",
					tt.in, a, a.Modules, a.Kind, tt.want, tt.mods, tt.kind)
			}
		})
	}
}

func TestStrongest(t *testing.T) {
	bucket := blockCandidate(block{Kind: kindResource, Type: "aws_s3_bucket", Name: "logs"})
	object := blockCandidate(block{Kind: kindResource, Type: "aws_s3_bucket_object", Name: "logs"})
	data := blockCandidate(block{Kind: kindData, Type: "aws_s3_bucket", Name: "logs"})
	region := blockCandidate(block{Kind: kindVariable, Name: "region"})
	aws := blockCandidate(block{Kind: kindProvider, Name: "aws"})
	net := blockCandidate(block{Kind: kindModule, Name: "net"})
	cands := []candidate{bucket, object, data, region, aws, net}
	tests := []struct {
		msg  string
		want string // indexes into cands, comma-separated
	}{
		{"aws_s3_bucket.logs is public", "0"},
		{"data.aws_s3_bucket.logs is read", "2"},
		{"module.net.aws_s3_bucket.logs is public", "5"},
		{`resource "aws_s3_bucket_object" named "logs"`, "1"},
		{"bucket `logs` is public", "0,1,2"},
		{"`logs` and aws_s3_bucket.logs", "0"},
		{"variable region has no description", "3"},
		{"var.region is unused", "3"},
		{"the region is unset", ""},
		{"provider aws, variable region", "4"},
		{"AWS is case-sensitive, net is a word", ""},
		{"my_logs and logs_2 are not logs-like", ""},
		{"module net has no version", "5"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			var got []string
			for _, i := range strongest(tt.msg, cands) {
				got = append(got, string(rune('0'+i)))
			}
			if g := strings.Join(got, ","); g != tt.want {
				t.Errorf("strongest(%q) = %s, want %s", tt.msg, g, tt.want)
			}
		})
	}
}
