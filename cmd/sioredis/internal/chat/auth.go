package chat

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
	"github.com/sioredis/sioredis/socketio"
)

// Auth turns on identity in the chat. Backends post with an API key ("Authorization: Bearer KEY", a key allowed
// the "post" action and the chat's namespace) and give the author of each message; browser users are identified
// by their session cookie (apiauth.Sessions, signed by the site's login with the shared secret), and the author
// of their messages is the identity's name, whatever the form says.
//
// Reading takes the same credentials, whether live or past: a Socket.IO connection and a request for the
// history (GET /api/messages) need such a key or a valid session cookie; without, the connection is refused by
// the namespace's middleware and the request answered 401 (403 for a key that may not post). A signed-in
// user's socket data is its apiauth.Identity.
//
// A nil Config.Auth is the anonymous mode of the demo: anyone who can reach the port posts under any name and
// reads every room (New logs it as a warning).
type Auth struct {
	// Keys are the API keys of backends; nil or empty: no backend may post.
	Keys *apiauth.Keys
	// Sessions verifies browser users' session cookies; nil: browsers may not post or connect.
	Sessions *apiauth.Sessions
	// KeyLimit bounds the posts per second of each key and of each signed-in user. Zero Rate: no limit.
	KeyLimit apiauth.LimitConfig
	// IPLimit bounds the posts per second of each client address, checked first. Zero Rate: no limit.
	IPLimit apiauth.LimitConfig
}

// authState is the App's Auth, with its limiters.
type authState struct {
	cfg     *Auth
	keyRate *apiauth.Limiter
	ipRate  *apiauth.Limiter
}

func (a *App) setupAuth() {
	if a.cfg.Auth == nil {
		a.cfg.Logger.Warn("chat: anonymous mode: anyone who can reach this server may post to any room under any name; configure API keys or session cookies (chat.Auth) for production")
		return
	}
	a.auth = &authState{cfg: a.cfg.Auth, keyRate: apiauth.NewLimiter(a.cfg.Auth.KeyLimit), ipRate: apiauth.NewLimiter(a.cfg.Auth.IPLimit)}
	a.nsp.Use(func(ctx context.Context, sock *socketio.Socket) error {
		id, _, err := a.identifyReader(sock.Handshake().Headers)
		if err != nil {
			return err
		}
		if id != nil {
			sock.SetData(*id)
		}
		return nil
	})
}

// identifyReader checks the credentials of a reader (a Socket.IO handshake, a request for the history) in its
// headers: an API key allowed to post in the namespace ("Authorization: Bearer KEY"), or else a valid session
// cookie, whose identity it returns. Its errors are apiauth's (for WriteAuthError) or the session's. Auth must
// not be nil.
func (a *App) identifyReader(h http.Header) (*apiauth.Identity, *apiauth.Key, error) {
	st := a.auth
	r := &http.Request{Header: h}
	if _, bearer := apiauth.BearerToken(r); bearer || st.cfg.Sessions == nil {
		key, err := st.cfg.Keys.Authenticate(r)
		if err == nil {
			err = key.Check(apiauth.ActionPost, a.cfg.Namespace)
		}
		if err != nil {
			return nil, nil, err
		}
		return nil, key, nil
	}
	id, err := st.cfg.Sessions.FromHeader(h)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: sign in, or send an API key", err)
	}
	return &id, nil, nil
}

// authorizeRead checks who reads the history: it answers the error itself and returns false, or returns true.
func (a *App) authorizeRead(w http.ResponseWriter, r *http.Request) bool {
	if a.auth == nil {
		return true
	}
	_, _, err := a.identifyReader(r.Header)
	switch {
	case err == nil:
		return true
	case errors.Is(err, apiauth.ErrNoCredentials), errors.Is(err, apiauth.ErrBadKey), errors.Is(err, apiauth.ErrForbidden):
		apiauth.WriteAuthError(w, err)
	default:
		apiauth.WriteJSON(w, http.StatusUnauthorized, apiauth.ErrorBody{Error: err.Error()})
	}
	return false
}

// authorize checks who posts p: it answers the error itself and returns false, or returns true with p.Author set
// from the identity for browser users.
func (a *App) authorize(w http.ResponseWriter, r *http.Request, p *Post) bool {
	st := a.auth
	if st == nil {
		return true
	}
	ip := apiauth.ClientIP(r)
	if ok, wait := st.ipRate.Allow(ip, 1); !ok {
		apiauth.WriteRateLimited(w, "client "+ip, wait)
		return false
	}
	if _, bearer := apiauth.BearerToken(r); bearer || st.cfg.Sessions == nil {
		key, err := st.cfg.Keys.Authenticate(r)
		if err == nil {
			err = key.Check(apiauth.ActionPost, a.cfg.Namespace)
		}
		if err != nil {
			apiauth.WriteAuthError(w, err)
			return false
		}
		if ok, wait := st.keyRate.Allow("key:"+key.Name, 1); !ok {
			apiauth.WriteRateLimited(w, "key "+key.Name, wait)
			return false
		}
		if p.Author == "" {
			p.Author = key.Name
		}
		return true
	}
	id, err := st.cfg.Sessions.FromHeader(r.Header)
	if err != nil {
		apiauth.WriteJSON(w, http.StatusUnauthorized, apiauth.ErrorBody{Error: fmt.Sprintf("%v: sign in, or send an API key", err)})
		return false
	}
	if ok, wait := st.keyRate.Allow("user:"+id.User, 1); !ok {
		apiauth.WriteRateLimited(w, "user "+id.User, wait)
		return false
	}
	p.Author = truncateAuthor(id.DisplayName())
	return true
}

// truncateAuthor keeps a name within MaxAuthorLen bytes, on a rune boundary.
func truncateAuthor(s string) string {
	if len(s) <= MaxAuthorLen {
		return s
	}
	for i := MaxAuthorLen; i > 0; i-- {
		if s[i]&0xc0 != 0x80 {
			return s[:i]
		}
	}
	return ""
}
