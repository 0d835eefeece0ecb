package checks

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestAttributes(t *testing.T) {
	tests := []struct {
		name   string
		change string // the "change" object of a resource change
		want   []AttributeChange
	}{
		{
			name:   "create with unknowns",
			change: `{"actions":["create"],"before":null,"after":{"name":"web","size":2,"empty":{},"none":null},"after_unknown":{"id":true}}`,
			want: []AttributeChange{
				{Path: "id", After: "(known after apply)"},
				{Path: "name", After: `"web"`},
				{Path: "size", After: "2"},
			},
		},
		{
			name: "update of nested objects and lists",
			change: `{"actions":["update"],
				"before":{"id":"i-1","tags":{"Name":"a","keep":"k","gone":"g"},"rules":[{"port":80,"cidrs":["10.0.0.0/8"]}],"big":12345678901234567890},
				"after":{"id":"i-1","tags":{"Name":"b","keep":"k","kubernetes.io/role":"x"},"rules":[{"port":443,"cidrs":["10.0.0.0/8","192.168.0.0/16"]}],"big":12345678901234567891},
				"after_unknown":{}}`,
			want: []AttributeChange{
				{Path: "big", Before: "12345678901234567890", After: "12345678901234567891"},
				{Path: "rules[0].cidrs[1]", After: `"192.168.0.0/16"`},
				{Path: "rules[0].port", Before: "80", After: "443"},
				{Path: "tags.Name", Before: `"a"`, After: `"b"`},
				{Path: "tags.gone", Before: `"g"`},
				{Path: `tags["kubernetes.io/role"]`, After: `"x"`},
			},
		},
		{
			name: "unknown after an object",
			change: `{"actions":["update"],"before":{"output":{"name":"old"},"input":"x"},"after":{"input":"y"},
				"after_unknown":{"output":true}}`,
			want: []AttributeChange{
				{Path: "input", Before: `"x"`, After: `"y"`},
				{Path: "output", Before: `{"name":"old"}`, After: "(known after apply)"},
			},
		},
		{
			name: "sensitive values masked",
			change: `{"actions":["update"],
				"before":{"password":"old-pw","conn":{"user":"u","pass":"p1"},"same":"s"},
				"after":{"password":"new-pw","conn":{"user":"u2","pass":"p2"},"same":"s"},
				"before_sensitive":{"password":true,"conn":{"pass":true},"same":true},
				"after_sensitive":{"password":true,"conn":{"pass":true},"same":true},"after_unknown":{}}`,
			want: []AttributeChange{
				{Path: "conn.pass", Before: "(sensitive value)", After: "(sensitive value)"},
				{Path: "conn.user", Before: `"u"`, After: `"u2"`},
				{Path: "password", Before: "(sensitive value)", After: "(sensitive value)"},
			},
		},
		{
			name:   "whole object sensitive",
			change: `{"actions":["create"],"after":{"cfg":{"a":"1"}},"after_sensitive":{"cfg":true},"after_unknown":{}}`,
			want:   []AttributeChange{{Path: "cfg", After: "(sensitive value)"}},
		},
		{
			name: "secrets redacted though not sensitive",
			change: `{"actions":["create"],"after_unknown":{},"after":{
				"environment":[{"variables":{"access_key":"AKIAIOSFODNN7EXAMPLE","secret_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","region":"eu-west-1"}}],
				"passwords":["a","b"],"secret_config":{"inner":"x"},"get_password_data":false,
				"user_data":"export TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}}`,
			want: []AttributeChange{
				{Path: "environment[0].variables.access_key", After: "(redacted)"},
				{Path: "environment[0].variables.region", After: `"eu-west-1"`},
				{Path: "environment[0].variables.secret_key", After: "(redacted)"},
				{Path: "get_password_data", After: "false"},
				{Path: "passwords[0]", After: "(redacted)"},
				{Path: "passwords[1]", After: "(redacted)"},
				{Path: "secret_config.inner", After: "(redacted)"},
				{Path: "user_data", After: `"export TOKEN=(redacted)"`},
			},
		},
		{
			name: "replace paths",
			change: `{"actions":["delete","create"],"before":{"ami":"a-1","disks":[{"size":1}],"name":"n"},
				"after":{"ami":"a-2","disks":[{"size":2}],"name":"n"},"after_unknown":{},"replace_paths":[["ami"],["disks",0]]}`,
			want: []AttributeChange{
				{Path: "ami", Before: `"a-1"`, After: `"a-2"`, ForcesReplacement: true},
				{Path: "disks[0].size", Before: "1", After: "2", ForcesReplacement: true},
			},
		},
		{
			name:   "delete shows what goes",
			change: `{"actions":["delete"],"before":{"id":"x","tags":{}},"after":null}`,
			want:   []AttributeChange{{Path: "id", Before: `"x"`}},
		},
		{
			name:   "type change of a value",
			change: `{"actions":["update"],"before":{"v":["a"]},"after":{"v":{"k":"a"}},"after_unknown":{}}`,
			want:   []AttributeChange{{Path: "v", Before: `["a"]`, After: `{"k":"a"}`}},
		},
		{
			name:   "unknown list elements",
			change: `{"actions":["update"],"before":{"l":["a"]},"after":{"l":["a"]},"after_unknown":{"l":[false,true]}}`,
			want:   []AttributeChange{{Path: "l[1]", After: "(known after apply)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePlan(planWith(`{"address":"x.y","change":` + tt.change + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Changes) != 1 {
				t.Fatalf("%d changes, want 1", len(p.Changes))
			}
			got, omitted := p.Changes[0].Attributes()
			if !reflect.DeepEqual(got, tt.want) || omitted != 0 {
				t.Errorf("attributes (omitted %d):\n%s\nwant:\n%s", omitted, attrList(got), attrList(tt.want))
			}
		})
	}
}

func attrList(attrs []AttributeChange) string {
	var b strings.Builder
	for _, a := range attrs {
		b.WriteString("  " + a.Path + ": " + a.Before + " -> " + a.After)
		if a.ForcesReplacement {
			b.WriteString(" (forces replacement)")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestAttributesBounded(t *testing.T) {
	var attrs []string
	for i := range maxAttributesPerChange + 25 {
		attrs = append(attrs, `"a_`+strconv.Itoa(i)+`":"v"`)
	}
	long := strings.Repeat("é", maxValueBytes)
	p, err := ParsePlan(planWith(
		`{"address":"x.many","change":{"actions":["create"],"after":{`+strings.Join(attrs, ",")+`}}}`,
		`{"address":"x.long","change":{"actions":["create"],"after":{"v":"`+long+`"}}}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	got, omitted := p.Changes[0].Attributes()
	if len(got) != maxAttributesPerChange || omitted != 25 {
		t.Errorf("%d attributes and %d omitted, want %d and 25", len(got), omitted, maxAttributesPerChange)
	}
	if lines := changeLines(p.Changes[0]); !strings.Contains(lines[len(lines)-1].text, "25 more lines not shown") {
		t.Errorf("last line %q does not say attributes were left out", lines[len(lines)-1].text)
	}
	v, _ := p.Changes[1].Attributes()
	if len(v[0].After) > maxValueBytes || !strings.HasSuffix(v[0].After, "…(truncated)") {
		t.Errorf("long value not cut to %d bytes: %d bytes, ends %q", maxValueBytes, len(v[0].After), v[0].After[len(v[0].After)-20:])
	}
}

func TestOutputs(t *testing.T) {
	p, err := ParsePlan([]byte(`{"format_version":"1.2","planned_values":{"outputs":{"old_style":{"sensitive":true}}},"output_changes":{
		"old_style":{"actions":["create"],"after":"marked only in planned_values"},
		"db_password":{"actions":["create"],"after":"hunter2","after_unknown":false,"after_sensitive":false},
		"key":{"actions":["create"],"after":"s","after_sensitive":true},
		"same":{"actions":["no-op"],"before":"x","after":"x"},
		"url":{"actions":["update"],"before":"a","after":"b","after_unknown":false}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range p.Outputs {
		for _, a := range o.Attributes() {
			got = append(got, o.Name+" "+string(o.Action)+" "+a.Before+" -> "+a.After)
		}
	}
	want := []string{
		"db_password create  -> (redacted)",
		"key create  -> (sensitive value)",
		"old_style create  -> (sensitive value)",
		`url update "a" -> "b"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outputs %q, want %q", got, want)
	}
}
