package emitapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sioredis/sioredis/cmd/sioredis/internal/emitapi"
)

// TestTextThatIsNotUnicodeRefused: a request whose event, rooms, except, namespace, rooms to join or leave, or
// arguments hold bytes that are not UTF-8 or a lone surrogate ("\ud800", which encoding/json turns into U+FFFD)
// gets 400 naming the field, and nothing is published (a real redis-server, watched with PSUBSCRIBE); a
// surrogate pair is text and is published.
func TestTextThatIsNotUnicodeRefused(t *testing.T) {
	ctx := testCtx(t)
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { rdb.Close() })
	watch := rdb.PSubscribe(ctx, "*")
	t.Cleanup(func() { watch.Close() })
	if _, err := watch.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	base := startAPI(t, emitapi.Config{Redis: rdb})
	for _, tc := range []struct {
		path, body, field string
	}{
		{"/v1/emit", "{\"rooms\":[\"r\xff\"],\"event\":\"e\"}", "rooms"},
		{"/v1/emit", `{"rooms":["r"],"event":"\ud800"}`, "event"},
		{"/v1/emit", `{"rooms":["r"],"event":"e","args":["\udc00x"]}`, "args"},
		{"/v1/emit", `{"rooms":["r"],"event":"e","args":[{"deep":["\ud83d"]}]}`, "args"},
		{"/v1/emit", "{\"rooms\":[\"r\"],\"event\":\"e\",\"args\":[\"\xed\xa0\x80\"]}", "args"}, // a surrogate in UTF-8 form
		{"/v1/emit", `{"except":["\ud800\ud800"],"event":"e"}`, "except"},
		{"/v1/emit", `{"namespace":"/\udfff","event":"e"}`, "namespace"},
		{"/v1/emit/batch", `{"emits":[{"event":"ok"},{"rooms":["a"],"event":"x\ud800"}]}`, "emits[1].event"},
		{"/v1/emit/batch", "{\"emits\":[{\"event\":\"ok\",\"args\":[\"\xc3\"]}]}", "emits[0].args"},
		{"/v1/sockets/join", `{"rooms":["a"],"join":["\ud800"]}`, "join"},
		{"/v1/sockets/leave", `{"leave":["b"],"rooms":["\udc00"]}`, "rooms"},
		{"/v1/server-emit", `{"event":"reload","args":["\ud800"]}`, "args"},
	} {
		a := post(t, base, testKey, tc.path, tc.body)
		if a.code != http.StatusBadRequest || a.body["field"] != tc.field {
			t.Errorf("%s %q: %d %s, want 400 with field %q", tc.path, tc.body, a.code, a.raw, tc.field)
		}
	}
	select {
	case m := <-watch.Channel():
		t.Fatalf("published %q on %s", m.Payload, m.Channel)
	case <-time.After(200 * time.Millisecond):
	}
	mustPost(t, base, "/v1/emit", `{"rooms":["r\ud83d\ude00"],"event":"e","args":["\ud83d\ude00"]}`)
	select {
	case m := <-watch.Channel():
		if m.Channel != "socket.io#/#r\U0001F600#" {
			t.Errorf("published on %q", m.Channel)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a surrogate pair was not published")
	}
}
