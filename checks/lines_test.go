package checks

import (
	"strings"
	"testing"
)

// TestChangeLines checks that a change reads like `terraform show`: list
// elements matched as terraform matches them (not by index), nested values
// nested, unchanged attributes and elements hidden and counted, a created
// object's unknown values on one line, and sensitivity changes said.
func TestChangeLines(t *testing.T) {
	tests := []struct {
		name   string
		change string // the "change" object of a resource change
		want   string
	}{
		{
			name: "element added at the head of a list",
			change: `{"actions":["update"],
				"before":{"id":"sg-1","name":"web","cidr_blocks":["10.0.0.0/8","10.1.0.0/16","10.2.0.0/16","10.3.0.0/16"],"description":"d"},
				"after":{"id":"sg-1","name":"web","cidr_blocks":["0.0.0.0/0","10.0.0.0/8","10.1.0.0/16","10.2.0.0/16","10.3.0.0/16"],"description":"d"},
				"after_unknown":{}}`,
			want: `
~   x.y will be updated in-place
~       cidr_blocks = [
+           "0.0.0.0/0",
            # (4 unchanged elements hidden)
        ]
        id = "sg-1"
        name = "web"
        # (1 unchanged attribute hidden)
`,
		},
		{
			name:   "element removed from the middle of a list",
			change: `{"actions":["update"],"before":{"l":["a","b","c"]},"after":{"l":["a","c"]},"after_unknown":{}}`,
			want: `
~   x.y will be updated in-place
~       l = [
-           "b",
            # (2 unchanged elements hidden)
        ]
`,
		},
		{
			name: "one nested block of several changes",
			change: `{"actions":["update"],
				"before":{"ingress":[{"from_port":22,"cidr_blocks":["10.0.0.0/8"],"description":"ssh"},{"from_port":443,"cidr_blocks":["10.0.0.0/8"],"description":"https"}]},
				"after":{"ingress":[{"from_port":22,"cidr_blocks":["10.0.0.0/8"],"description":"ssh"},{"from_port":443,"cidr_blocks":["0.0.0.0/0"],"description":"https"}]},
				"after_unknown":{}}`,
			want: `
~   x.y will be updated in-place
~       ingress = [
~           {
~               cidr_blocks = [
-                   "10.0.0.0/8",
+                   "0.0.0.0/0",
                ]
                # (2 unchanged attributes hidden)
            },
            # (1 unchanged element hidden)
        ]
`,
		},
		{
			name: "created object",
			change: `{"actions":["create"],"before":null,
				"after":{"ami":"ami-1","tags":{"Name":"web"},"ebs":[{"size":20}],"empty":{},"none":null},
				"after_unknown":{"id":true,"arn":true,"ebs":[{"id":true}],"private_ip":true}}`,
			want: `
+   x.y will be created
+       ami = "ami-1"
+       ebs = [
+           {
+               size = 20
+               id = (known after apply)
            },
        ]
+       tags = {
+           Name = "web"
        }
+       arn, id, private_ip = (known after apply)
`,
		},
		{
			name: "value became sensitive",
			change: `{"actions":["update"],"before":{"password":"pw","size":1},"after":{"password":"pw","size":1},
				"before_sensitive":{},"after_sensitive":{"password":true},"after_unknown":{}}`,
			want: `
~   x.y will be updated in-place
~       password = (sensitive value) -> (sensitive value) # now marked sensitive; the value is unchanged
        # (1 unchanged attribute hidden)
`,
		},
		{
			name: "value no longer sensitive",
			change: `{"actions":["update"],"before":{"token":"t"},"after":{"token":"t"},
				"before_sensitive":{"token":true},"after_sensitive":{},"after_unknown":{}}`,
			want: `
~   x.y will be updated in-place
~       token = (sensitive value) -> (sensitive value) # no longer marked sensitive; the value is unchanged
`,
		},
		{
			name:   "update with nothing visible",
			change: `{"actions":["update"],"before":{"a":"1"},"after":{"a":"1"},"after_unknown":{}}`,
			want: `
~   x.y will be updated in-place
        # (terraform plans this change, but no attribute value it shows differs)
        # (1 unchanged attribute hidden)
`,
		},
		{
			name:   "forget shows no values",
			change: `{"actions":["forget"],"before":{"id":"kept"},"after":null}`,
			want: `
.   x.y will be removed from state without being destroyed
`,
		},
		{
			name: "create-forget shows what changes",
			change: `{"actions":["create","forget"],"before":{"input":"v1","id":"a"},"after":{"input":"v2"},
				"after_unknown":{"id":true},"replace_paths":[["input"]]}`,
			want: `
+/. x.y will be replaced; the old object is removed from state, not destroyed
~       id = "a" -> (known after apply)
~       input = "v1" -> "v2" # forces replacement
`,
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
			got := diffText(changeLines(p.Changes[0]))
			if want := strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("lines:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
