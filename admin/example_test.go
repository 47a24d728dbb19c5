package admin_test

import (
	"fmt"
	"log"
	"net/http"

	"golang.org/x/crypto/bcrypt"

	"github.com/sioredis/sioredis/admin"
	"github.com/sioredis/sioredis/socketio"
)

// Instrument a server for the admin UI, with a login. The UI (the ui/dist directory of the npm package
// @socket.io/admin-ui, served by the same server) connects to the "/admin" namespace.
func ExampleInstrument() {
	srv, err := socketio.NewServer(socketio.Config{})
	if err != nil {
		log.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("changeit"), bcrypt.DefaultCost) // or a hash kept in a secret
	a, err := admin.Instrument(srv, admin.Options{
		Auth:     &admin.BasicAuth{Username: "admin", PasswordHash: string(hash)},
		ReadOnly: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	http.Handle("/socket.io/", srv)
	http.Handle("/admin/", http.StripPrefix("/admin/", http.FileServer(http.Dir("node_modules/@socket.io/admin-ui/ui/dist"))))
	fmt.Println(a.Features())
	// Output: [AGGREGATED_EVENTS ALL_EVENTS]
}
