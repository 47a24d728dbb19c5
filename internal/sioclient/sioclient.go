// Package sioclient serves the browser build of the official Socket.IO client (dist/socket.io.min.js of
// socket.io-client 4.8.4, MIT-licensed, with its LICENSE), embedded in the binary, to the project's pages.
package sioclient

import (
	"bytes"
	_ "embed"
	"net/http"
	"path"
	"time"
)

var (
	//go:embed socket.io.min.js
	script []byte
	//go:embed socket.io-client.LICENSE
	license []byte
)

// Version is the socket.io-client release the script comes from.
const Version = "4.8.4"

// released is the date of that release, sent as Last-Modified.
var released = time.Date(2025, 1, 9, 0, 0, 0, 0, time.UTC)

// Serve answers a request whose path ends in "socket.io.min.js" or "socket.io-client.LICENSE" and reports true;
// for any other path it writes nothing and reports false.
func Serve(w http.ResponseWriter, r *http.Request) bool {
	var body []byte
	switch name := path.Base(r.URL.Path); name {
	case "socket.io.min.js":
		body = script
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case "socket.io-client.LICENSE":
		body = license
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	default:
		return false
	}
	http.ServeContent(w, r, "", released, bytes.NewReader(body))
	return true
}
