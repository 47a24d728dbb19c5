package chat

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/apiauth"
	"github.com/sioredis/sioredis/socketio"
)

// Auth turns on identity in the chat. Backends post with an API key ("Authorization: Bearer KEY", a key allowed
// the "post" action and the chat's namespace) and give the author of each message; browser users are identified
// by their session cookie (apiauth.Sessions, signed by the site's login with the shared secret), and the author
// of their messages is the identity's name, whatever the form says. With Sessions, a Socket.IO connection
// without a valid session cookie is refused by the namespace's middleware, and the socket's data is its
// apiauth.Identity. A nil Config.Auth is the anonymous mode of the demo: anyone who can reach the port posts
// under any name (New logs it as a warning).
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
	if s := a.cfg.Auth.Sessions; s != nil {
		a.nsp.Use(func(ctx context.Context, sock *socketio.Socket) error {
			id, err := s.FromHeader(sock.Handshake().Headers)
			if err != nil {
				return err
			}
			sock.SetData(id)
			return nil
		})
	}
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
