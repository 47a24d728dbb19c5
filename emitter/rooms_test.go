package emitter

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/sioredis/sioredis/protocol"
)

func TestAddRooms(t *testing.T) {
	many := make([]string, 300)
	for i := range many {
		many[i] = fmt.Sprintf("room_%d", i%150) // every room twice
	}
	tests := []struct {
		name        string
		list, rooms []string
		want        []string
	}{
		{"none", nil, nil, nil},
		{"kept in order", nil, []string{"b", "a", "c"}, []string{"b", "a", "c"}},
		{"repeats dropped", []string{"a"}, []string{"b", "a", "b", "c"}, []string{"a", "b", "c"}},
		{"nothing new", []string{"a", "b"}, []string{"b", "a"}, []string{"a", "b"}},
		{"many, repeated", []string{"room_3", "x"}, many,
			append([]string{"room_3", "x"}, slices.DeleteFunc(slices.Clone(many[:150]), func(r string) bool { return r == "room_3" })...)},
		{"many already there", many[:150], many, many[:150]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list := slices.Clone(tc.list)
			got, err := addRooms(list, tc.rooms)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %d rooms %q, want %d %q", len(got), got, len(tc.want), tc.want)
			}
			if !slices.Equal(list, tc.list) {
				t.Fatalf("the list given changed: %q", list)
			}
			if len(tc.list) > 0 && len(got) > len(tc.list) && &got[0] == &list[0] {
				t.Fatal("the result shares the given list's array")
			}
		})
	}
	for _, rooms := range [][]string{{""}, {"a", ""}, append(slices.Clone(many), "")} {
		if _, err := addRooms(nil, rooms); !errors.Is(err, protocol.ErrInvalidRoom) {
			t.Errorf("%d rooms, the last empty: %v, want ErrInvalidRoom", len(rooms), err)
		}
	}
}

// BenchmarkAddRooms is To (or Except) with n rooms, all different, as the HTTP API's "rooms" and "except" pass
// them: the time per call grows with n, not with n².
func BenchmarkAddRooms(b *testing.B) {
	for _, n := range []int{1, 16, 64, 65, 1000, 50_000, 200_000} {
		rooms := make([]string, n)
		for i := range rooms {
			rooms[i] = fmt.Sprintf("room_%06d", i)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := addRooms(nil, rooms); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
