package ghclient

import (
	"github.com/gregjones/httpcache"
	lru "github.com/hashicorp/golang-lru"
)

// DefaultCacheEntries bounds the responses one installation client keeps.
const DefaultCacheEntries = 500

// lruCache is an httpcache.Cache that forgets the least recently used
// response past a fixed number of entries: httpcache's own memory cache never
// forgets anything, which a long-running server cannot afford.
type lruCache struct{ c *lru.Cache }

// NewCache returns a bounded response cache for one GitHub client. Each
// installation client gets its own, so a response fetched with one
// installation's token is never served to another (installations are the
// tenant boundary).
func NewCache(entries int) httpcache.Cache {
	if entries < 1 {
		entries = DefaultCacheEntries
	}
	c, err := lru.New(entries)
	if err != nil { // only for a non-positive size, excluded above
		panic(err)
	}
	return lruCache{c: c}
}

func (l lruCache) Get(key string) ([]byte, bool) {
	v, ok := l.c.Get(key)
	if !ok {
		return nil, false
	}
	return v.([]byte), true
}

func (l lruCache) Set(key string, resp []byte) { l.c.Add(key, resp) }

func (l lruCache) Delete(key string) { l.c.Remove(key) }
