// Package bytecache is the AppView's cache type: an LRU bounded by the
// bytes of its keys and values (not only by their count), whose entries may
// expire one by one. The registry's storage (manifests, blob sizes,
// presigned URLs, tags, push holds) and the scan badges
// (pkg/appview/scans) keep their answers in it, so every cache's memory has
// a configured bound (the cache.* keys). Expired entries leave when read and,
// a few per write, from the least recently used end, so under a steady
// churn of new keys a cache holds what its TTL spans rather than filling
// its bound.
package bytecache
