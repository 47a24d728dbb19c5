package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"

	"github.com/sioredis/sioredis/admin"
	"github.com/sioredis/sioredis/cmd/sioredis/internal/demo"
)

// adminFlags are serve's flags of the admin UI (@socket.io/admin-ui).
type adminFlags struct {
	on           bool
	user         string
	passwordHash string
	noAuth       bool
	readOnly     bool
	mode         string
	uiDir        string
	serverID     string
	login        admin.LoginLimit
}

func (f *adminFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "admin", false, "serve the Socket.IO admin UI's namespace /admin (and its page with --admin-ui)")
	fs.StringVar(&f.user, "admin-user", "admin", "username of the admin UI")
	fs.StringVar(&f.passwordHash, "admin-password-hash", "", "bcrypt hash of the admin UI's password (default $SIOREDIS_ADMIN_PASSWORD_HASH; e.g. from htpasswd -nbBC 10 \"\" PASSWORD | tr -d ':\\n')")
	fs.BoolVar(&f.noAuth, "admin-no-auth", false, "let anyone who reaches the server use the admin UI, without a password")
	fs.BoolVar(&f.readOnly, "admin-readonly", false, "the admin UI only looks: no emit, join, leave or disconnect")
	fs.StringVar(&f.mode, "admin-mode", "development", "development (every socket and event) or production (server stats only)")
	fs.StringVar(&f.uiDir, "admin-ui", "", "directory of the admin UI's files (ui/dist of the npm package @socket.io/admin-ui), served at /admin/")
	fs.StringVar(&f.serverID, "admin-server-id", "", "name of this server in the admin UI (default the hostname)")
	fs.IntVar(&f.login.MaxConcurrent, "admin-login-concurrency", admin.DefaultLoginConcurrency, "admin UI logins whose password is checked at once (bcrypt: a core for about 100 ms each); the others wait")
	fs.DurationVar(&f.login.FailureDelay, "admin-login-delay", admin.DefaultFailureDelay, "after a failed admin UI login, refuse that client address and that username this long, doubled at each failure up to 1m (negative: never)")
}

// config returns the demo's admin configuration: nil without --admin.
func (f *adminFlags) config() (*demo.AdminConfig, error) {
	if !f.on {
		if f.uiDir != "" || f.noAuth || f.passwordHash != "" {
			return nil, usagef("--admin-ui, --admin-no-auth and --admin-password-hash need --admin")
		}
		return nil, nil
	}
	hash := f.passwordHash
	if hash == "" {
		hash = os.Getenv("SIOREDIS_ADMIN_PASSWORD_HASH")
	}
	if f.login.MaxConcurrent <= 0 {
		return nil, usagef("--admin-login-concurrency must be positive")
	}
	opts := admin.Options{NoAuth: f.noAuth, ReadOnly: f.readOnly, Mode: admin.Mode(f.mode), ServerID: f.serverID, LoginLimit: f.login}
	switch {
	case hash != "" && f.noAuth:
		return nil, usagef("--admin-password-hash and --admin-no-auth: choose one")
	case hash != "":
		opts.Auth = &admin.BasicAuth{Username: f.user, PasswordHash: hash}
	case !f.noAuth:
		return nil, usagef("--admin needs --admin-password-hash (or $SIOREDIS_ADMIN_PASSWORD_HASH), or --admin-no-auth")
	}
	if f.uiDir != "" {
		if _, err := os.Stat(filepath.Join(f.uiDir, "index.html")); err != nil {
			return nil, usagef("--admin-ui %s: no index.html (give the ui/dist directory of @socket.io/admin-ui)", f.uiDir)
		}
	}
	return &demo.AdminConfig{Options: opts, UIDir: f.uiDir}, nil
}

// adminError makes the admin options' errors usage errors (exit status 2).
func adminError(err error) error {
	if errors.Is(err, admin.ErrConfig) {
		return usageError{err}
	}
	return err
}
