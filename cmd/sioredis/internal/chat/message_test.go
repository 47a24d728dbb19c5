package chat

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var testTime = time.Date(2017, 12, 19, 14, 0, 0, 0, time.UTC)

func TestNewMessage(t *testing.T) {
	m, err := newMessage(Post{Room: "room_777", Author: "  ann ", Body: "\n message_body \t\n"}, 100, testTime.In(time.FixedZone("X", 3600)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Room != "room_777" || m.Author != "ann" || m.Body != "message_body" || m.CreatedAt != "2017-12-19 14:00:00" || len(m.ID) != 20 || m.Seq != 0 {
		t.Fatalf("got %+v", m)
	}
	if m2, _ := newMessage(Post{Room: "r", Body: "b"}, 100, testTime); m2.Author != "anonymous" || m2.ID == m.ID {
		t.Fatalf("got %+v", m2)
	}
	if m3, err := newMessage(Post{Room: "r", Body: "line 1\n\tline 2"}, 100, testTime); err != nil || m3.Body != "line 1\n\tline 2" {
		t.Fatalf("multiline body: %+v, %v", m3, err)
	}
}

func TestNewMessageInvalid(t *testing.T) {
	tests := []struct {
		name  string
		post  Post
		field string
	}{
		{"no room", Post{Body: "b"}, "room"},
		{"room too long", Post{Room: strings.Repeat("r", MaxRoomLen+1), Body: "b"}, "room"},
		{"room with a newline", Post{Room: "a\nb", Body: "b"}, "room"},
		{"room not UTF-8", Post{Room: "\xff", Body: "b"}, "room"},
		{"no body", Post{Room: "r"}, "body"},
		{"blank body", Post{Room: "r", Body: " \n\t "}, "body"},
		{"body too long", Post{Room: "r", Body: strings.Repeat("é", 51)}, "body"},
		{"body with NUL", Post{Room: "r", Body: "a\x00b"}, "body"},
		{"body with ESC", Post{Room: "r", Body: "a\x1b[31mb"}, "body"},
		{"body not UTF-8", Post{Room: "r", Body: "a\xc3"}, "body"},
		{"author too long", Post{Room: "r", Author: strings.Repeat("a", MaxAuthorLen+1), Body: "b"}, "author"},
		{"author with a tab", Post{Room: "r", Author: "a\tb", Body: "b"}, "author"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newMessage(tt.post, 100, testTime)
			var fe *FieldError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("got %v, want an ErrInvalid about %s", err, tt.field)
			}
		})
	}
	// The limits themselves are accepted.
	if _, err := newMessage(Post{Room: strings.Repeat("r", MaxRoomLen), Author: strings.Repeat("a", MaxAuthorLen), Body: strings.Repeat("é", 50)}, 100, testTime); err != nil {
		t.Fatal(err)
	}
}

func TestCheckKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"": true, "0b0e8a4c-4c3e-4a8e-9a86-2f1e6b1f4b7e": true, strings.Repeat("k", MaxKeyLen): true,
		strings.Repeat("k", MaxKeyLen+1): false, "a b": false, "é": false, "a\x7f": false,
	} {
		if err := checkKey(key); (err == nil) != ok {
			t.Errorf("checkKey(%q) = %v", key, err)
		}
	}
}

func TestSplitRooms(t *testing.T) {
	if got := strings.Join(splitRooms(",a,,b,"), "|"); got != "a|b" {
		t.Fatalf("got %q", got)
	}
}
