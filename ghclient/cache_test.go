package ghclient

import (
	"fmt"
	"testing"
)

func TestCacheIsBounded(t *testing.T) {
	c := NewCache(3)
	for i := 0; i < 10; i++ {
		c.Set(fmt.Sprint("k", i), []byte{byte(i)})
	}
	for i := 0; i < 7; i++ {
		if _, ok := c.Get(fmt.Sprint("k", i)); ok {
			t.Errorf("k%d kept; the cache must forget the oldest entries", i)
		}
	}
	for i := 7; i < 10; i++ {
		if v, ok := c.Get(fmt.Sprint("k", i)); !ok || v[0] != byte(i) {
			t.Errorf("k%d = %v, %v; want the latest entries kept", i, v, ok)
		}
	}
	c.Delete("k9")
	if _, ok := c.Get("k9"); ok {
		t.Error("Delete did not delete")
	}
}
