package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	const pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx3b1Qk9JGBW0y1Zr\nq8Vd5Xxk2f0=\n-----END RSA PRIVATE KEY-----"
	tests := []struct {
		name, in, want string
	}{
		{"aws access key id", "key AKIAIOSFODNN7EXAMPLE here", "key (redacted) here"},
		{"aws temporary key id", "ASIAY34FZKBOKMUTVV7A", "(redacted)"},
		{"terragoat user data", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMAAA\nexport AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMAAAKEY\n",
			"export AWS_ACCESS_KEY_ID=(redacted)\nexport AWS_SECRET_ACCESS_KEY=(redacted)\n"},
		{"aws secret key alone", "the key is wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY.", "the key is (redacted)."},
		{"github classic token", "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "(redacted)"},
		{"github app tokens", "gho_0123456789abcdefghijklmnopqrstuvwxyzAB ghs_0123456789abcdefghijklmnopqrstuvwxyzAB ghu_0123456789abcdefghijklmnopqrstuvwxyzAB ghr_0123456789abcdefghijklmnopqrstuvwxyzAB",
			"(redacted) (redacted) (redacted) (redacted)"},
		{"github fine-grained token", "url?t=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTU&x=1", "url?t=(redacted)&x=1"},
		{"jwt", "Authorization: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm8vciJ9.c2lnbmF0dXJl end", "Authorization: (redacted) end"},
		{"bearer token", "Authorization: Bearer abcdef0123456789xyz", "Authorization: Bearer (redacted)"},
		{"pem private key", "key = \"" + pem + "\" done", "key = \"(redacted)\" done"},
		{"pem private key escaped in json", `"k":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"`, `"k":"(redacted)\n"`},
		{"pem private key cut short", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB", "(redacted)"},
		{"public key stays", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----"},
		{"google api key", "AIzaSyA-1234567890abcdefghijklmnopqrstu", "(redacted)"},
		{"slack token", "xoxb-123456789012-abcdefghij", "(redacted)"},
		{"password in url", "postgres://app:s3cr3t@db.internal:5432/app", "postgres://app:(redacted)@db.internal:5432/app"},
		{"hcl password", `password = "hunter2"`, `password = "(redacted)"`},
		{"json secret", `{"client_secret": "abc123", "name": "x"}`, `{"client_secret": "(redacted)", "name": "x"}`},
		{"yaml token", "api_token: abc123", "api_token: (redacted)"},
		{"env private key", "TF_VAR_private_key=abc123", "TF_VAR_private_key=(redacted)"},
		{"diff line", `~ db_password = "old" -> "new"`, `~ db_password = "(redacted)" -> "(redacted)"`},
		{"single quotes", `passwd='x y'`, `passwd='(redacted)'`},
		{"booleans and numbers stay", `get_password_data = false, token_ttl = 3600, secret = null`, `get_password_data = false, token_ttl = 3600, secret = null`},
		{"placeholders stay", `password = (sensitive value), token = (known after apply)`, `password = (sensitive value), token = (known after apply)`},
		{"references to secrets stay", `secret_arn = "arn:aws:secretsmanager:eu-west-1:1:secret:x", kms_secret_id = "k"`, `secret_arn = "arn:aws:secretsmanager:eu-west-1:1:secret:x", kms_secret_id = "k"`},
		{"oidc claim names stay", `"token.actions.githubusercontent.com:sub": "repo:o/r:*"`, `"token.actions.githubusercontent.com:sub": "repo:o/r:*"`},
		{"git sha stays", "commit 0123456789abcdef0123456789abcdef01234567", "commit 0123456789abcdef0123456789abcdef01234567"},
		{"sha256 base64 stays", "source_code_hash = Fne61Y/F2pmVywaVqIYcztFMK3LNeMJKpWFNnxDdGTw=", "source_code_hash = Fne61Y/F2pmVywaVqIYcztFMK3LNeMJKpWFNnxDdGTw="},
		// What gitleaks' rules find (its keywords, patterns and entropy).
		{"azure storage connection string", "DefaultEndpointsProtocol=https;AccountName=prodlogs;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net",
			"DefaultEndpointsProtocol=https;AccountName=prodlogs;AccountKey=(redacted);EndpointSuffix=core.windows.net"},
		{"slack webhook url", `url = "https://hooks.slack.com/services/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"`, `url = "(redacted)"`},
		{"gitlab token", "GITLAB_TOKEN glpat-xZ8kQ2mX7pL4vN9rT1yW in the log", "GITLAB_TOKEN (redacted) in the log"},
		{"stripe key", "stripe: sk_live_51Hq8ZkLb2mQ7vR4tW8yB3nL6cF1dK9sP0aE", "stripe: (redacted)"},
		{"npm token", "//registry.npmjs.org/:_authToken=npm_a8Kd93jfLq0ZmX7pW2eR5tY1uI4oP6sD9fGh", "//registry.npmjs.org/:_authToken=(redacted)"},
		// infra-agent's own patterns for what those rules let through.
		{"azure key of low entropy", "AccountName=a;AccountKey=aaaaaaaaaaaaaaaaaaaaaaaa==", "AccountName=a;AccountKey=(redacted)"},
		{"azure sas signature", "https://prodlogs.blob.core.windows.net/c?sv=2022-11-02&sp=rl&sig=kX9pZ2mQ7vR4tW8yB3nL6cF1dK9sP0aEqZ8kQ2mX7pL%3D&se=x",
			"https://prodlogs.blob.core.windows.net/c?sv=2022-11-02&sp=rl&sig=(redacted)&se=x"},
		{"plain text stays", "S3 bucket logs must not be public", "S3 bucket logs must not be public"},
		{"plan text stays", `~ kms_key_id = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"`, `~ kms_key_id = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := String(tt.in)
			if got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if again := String(got); again != got {
				t.Errorf("Redact is not idempotent: %q → %q", got, again)
			}
		})
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"password", true}, {"db_password", true}, {"master-password", true}, {"secret_key", true},
		{"client_secret", true}, {"access_token", true}, {"private_key", true}, {"api_key", true},
		{"access_key", true}, {"access_key_id", true}, {"client_key", true}, {"credentials", true},
		{"Password", true},
		{"name", false}, {"secret_arn", false}, {"secret_id", false}, {"token_name", false},
		{"kms_key_id", false}, {"public_key", false}, {"description", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Name(tt.name); got != tt.want {
				t.Errorf("Name(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

// TestRedactLongText checks that redaction does not depend on where a secret
// sits in a long text, nor touch the rest of it.
func TestStringLongText(t *testing.T) {
	filler := strings.Repeat("lorem ipsum dolor sit amet ", 2000)
	in := filler + "AKIAIOSFODNN7EXAMPLE" + filler
	want := filler + "(redacted)" + filler
	if got := String(in); got != want {
		t.Errorf("Redact changed more or less than the key (len %d, want %d)", len(got), len(want))
	}
}

func BenchmarkStringClean(b *testing.B) {
	s := `"instance 12 of the fleet in eu-west-1a, managed by the platform team"`
	for b.Loop() {
		String(s)
	}
}
