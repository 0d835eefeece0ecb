package broker

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/infra-agent/infra-agent/wire"
)

// TestRelayChargesMaxTokensWithoutUsage: an answer that reports no usage
// costs the request's max_tokens, so it cannot spend the budget for free.
func TestRelayChargesMaxTokensWithoutUsage(t *testing.T) {
	for _, tt := range []struct {
		provider, answer, request string
		want                      int64
	}{
		{wire.ProviderAnthropic, `{"type":"message","content":[]}`, `{"max_tokens":512}`, 512},
		{wire.ProviderOpenAI, `{"choices":[]}`, `{"max_completion_tokens":300}`, 300},
		{wire.ProviderAnthropic, `{"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":7}}`, `{"max_tokens":512}`, 22},
		{wire.ProviderOpenAI, "data: {\"choices\":[]}\n\ndata: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\ndata: [DONE]\n\n", `{"max_tokens":99}`, 7},
	} {
		m := &modelProxy{provider: tt.provider}
		rec := httptest.NewRecorder()
		resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.answer))}
		var got int64
		m.relay(rec, resp, []byte(tt.request), func(used int64) {
			got = used
			if rec.Body.Len() == len(tt.answer) {
				t.Errorf("%s %s: charged after the whole answer was sent", tt.provider, tt.answer)
			}
		})
		if got != tt.want {
			t.Errorf("%s %s: charged %d, want %d", tt.provider, tt.answer, got, tt.want)
		}
		if rec.Body.String() != tt.answer {
			t.Errorf("the answer was not relayed as sent: %q", rec.Body.String())
		}
	}
}
