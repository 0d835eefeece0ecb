package fakegithub

import (
	"crypto/rand"
	"crypto/rsa"
	"testing"
)

// BenchmarkNew measures what a test pays for a fake server (description, handlers, key, listener).
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		New(b)
	}
}

// BenchmarkGenerateAppKey is what New would cost on top if it generated the App's 2048-bit key instead of
// parsing the embedded one (BenchmarkParseAppKey).
func BenchmarkGenerateAppKey(b *testing.B) {
	for b.Loop() {
		if _, err := rsa.GenerateKey(rand.Reader, 2048); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseAppKey measures parsing the embedded App key.
func BenchmarkParseAppKey(b *testing.B) {
	for b.Loop() {
		if _, _, err := appKey(); err != nil {
			b.Fatal(err)
		}
	}
}
