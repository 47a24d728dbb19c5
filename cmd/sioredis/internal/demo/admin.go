package demo

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/sioredis/sioredis/admin"
)

// AdminConfig turns on the official Socket.IO admin UI (@socket.io/admin-ui) on the demo server.
type AdminConfig struct {
	// Options instrument the server (package admin): the "/admin" namespace the UI connects to.
	Options admin.Options
	// UIDir, when not empty, is a directory holding the UI's built files (index.html, js/, css/: the ui/dist
	// directory of the npm package @socket.io/admin-ui), served at UIPath. Empty: the namespace only, for a UI
	// served elsewhere.
	UIDir string
	// UIPath is where the UI is served; default "/admin/".
	UIPath string
}

// instrumentAdmin instruments d's server and serves the UI's files.
func (d *Demo) instrumentAdmin(c *AdminConfig) error {
	if c.Options.Logger == nil {
		c.Options.Logger = d.cfg.Logger
	}
	a, err := admin.Instrument(d.io, c.Options)
	if err != nil {
		return err
	}
	d.admin = a
	if c.UIDir == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(c.UIDir, "index.html")); err != nil {
		a.Close()
		return fmt.Errorf("demo: the admin UI directory has no index.html (want the ui/dist directory of @socket.io/admin-ui): %w", err)
	}
	path := c.UIPath
	if path == "" {
		path = "/admin/"
	}
	d.mux.Handle(path, http.StripPrefix(path, http.FileServer(http.Dir(c.UIDir))))
	return nil
}
