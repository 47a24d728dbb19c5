package sioclient

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// The files of socket.io-client's dist/ directory (the same release, MIT, see socket.io-client.LICENSE), kept
// gzip-compressed (gzip -9n): 320 KB in the binary instead of 1.2 MB, and sent as they are to every client that
// accepts gzip, which browsers all do.
//
//go:embed dist/*.gz
var dist embed.FS

// bundleFile is one file of the bundle.
type bundleFile struct {
	gz    []byte
	ctype string

	once  sync.Once
	plain []byte // decompressed on first request from a client without gzip
}

var bundle = func() map[string]*bundleFile {
	entries, err := dist.ReadDir("dist")
	if err != nil {
		panic(err)
	}
	m := make(map[string]*bundleFile, len(entries))
	for _, e := range entries {
		b, err := dist.ReadFile("dist/" + e.Name())
		if err != nil {
			panic(err)
		}
		name := strings.TrimSuffix(e.Name(), ".gz")
		ctype := "application/javascript; charset=utf-8"
		if strings.HasSuffix(name, ".map") {
			ctype = "application/json; charset=utf-8"
		}
		m[name] = &bundleFile{gz: b, ctype: ctype}
	}
	return m
}()

// BundleFiles returns the names of the files ServeBundle serves.
func BundleFiles() []string {
	out := make([]string, 0, len(bundle))
	for name := range bundle {
		out = append(out, name)
	}
	return out
}

// bundleETag is the entity tag of every file, as the reference server sends it: the client's version, quoted.
const bundleETag = `"` + Version + `"`

// ServeBundle answers a GET or HEAD request whose path ends in the name of one of the client's files
// (socket.io.js, socket.io.min.js, their source maps, the esm and msgpack builds) as the reference server's
// serveClient does: Content-Type application/javascript (application/json for maps), ETag the client version,
// Cache-Control "public, max-age=0", 304 for a matching If-None-Match; gzip-encoded when the client accepts it.
// It reports false, writing nothing, for any other request.
func ServeBundle(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	f := bundle[path.Base(r.URL.Path)]
	if f == nil {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "public, max-age=0")
	h.Set("ETag", bundleETag)
	h.Add("Vary", "Accept-Encoding")
	body := f.gz
	if acceptsGzip(r.Header.Values("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
	} else {
		f.once.Do(func() {
			zr, err := gzip.NewReader(bytes.NewReader(f.gz))
			if err != nil {
				panic(err) // the embedded files are checked by the tests
			}
			f.plain, err = io.ReadAll(zr)
			if err != nil {
				panic(err)
			}
		})
		body = f.plain
	}
	// ServeContent answers If-None-Match (strong or weak) with 304, HEAD, and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	return true
}

// acceptsGzip reports whether Accept-Encoding values accept gzip (q=0 refuses it).
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return !strings.HasPrefix(q, "q=0") || strings.HasPrefix(q, "q=0.") && strings.Trim(q[4:], "0") != ""
		}
	}
	return false
}
