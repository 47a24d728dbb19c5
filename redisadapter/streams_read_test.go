package redisadapter

import "testing"

// TestStreamPosNext: what a reader concludes from the stream's counts after one read, case by case (the tests
// on a real Redis, in streams_loss_test.go, bring these states about).
func TestStreamPosNext(t *testing.T) {
	stream := func(length, added int64, first, last string) streamInfo {
		return streamInfo{exists: true, length: length, added: added, first: first, lastID: last}
	}
	seen := func(added int64) streamInfo { return streamInfo{exists: true, added: added} }
	for _, tc := range []struct {
		name      string
		pos       streamPos
		ids       []string
		info      streamInfo
		want      StreamLoss
		entries   int64
		wantLast  string
		wantAdded int64
	}{
		{"a missing stream, never seen", streamPos{last: "0-0"}, nil, streamInfo{added: -1}, 0, 0, "0-0", 0},
		{"the stream read, then removed", streamPos{last: "5-0", added: 5}, nil, streamInfo{added: -1}, LossReset, 0, "0-0", 0},
		{"a read, then the stream removed", streamPos{last: "5-0", added: 5}, []string{"6-0"}, streamInfo{added: -1}, LossReset, 0, "0-0", 0},
		{"read to the end", streamPos{last: "5-0", added: 5}, []string{"6-0", "7-0"}, stream(7, 7, "1-0", "7-0"), 0, 0, "7-0", 7},
		{"read to the end, trimmed", streamPos{last: "5-0", added: 5}, []string{"6-0", "7-0"}, stream(3, 7, "5-0", "7-0"), 0, 0, "7-0", 7},
		{"nothing new", streamPos{last: "5-0", added: 5}, nil, stream(5, 5, "1-0", "5-0"), 0, 0, "5-0", 5},
		{"behind, more added", streamPos{last: "5-0", added: 5}, []string{"6-0"}, stream(9, 9, "1-0", "9-0"), 0, 0, "6-0", 6},
		{"trimmed unread", streamPos{last: "5-0", added: 5}, nil, stream(3, 10, "8-0", "10-0"), LossTrimmed, 2, "5-0", 7},
		{"read, then trimmed", streamPos{last: "5-0", added: 5}, []string{"6-0", "7-0"}, stream(3, 10, "8-0", "10-0"), 0, 0, "7-0", 7},
		{"read, trimmed past the read ones", streamPos{last: "5-0", added: 5}, []string{"6-0", "7-0"}, stream(2, 10, "9-0", "10-0"), LossTrimmed, 1, "7-0", 8},
		{"trimmed to nothing", streamPos{last: "5-0", added: 5}, nil, stream(0, 9, "", "9-0"), LossTrimmed, 4, "5-0", 9},
		{"deleted from the middle", streamPos{last: "5-0", added: 5}, []string{"7-0"}, stream(6, 7, "1-0", "7-0"), LossTrimmed, 1, "7-0", 7},
		{"replaced, its new entries read", streamPos{last: "5-0", added: 5, seen: seen(5)}, []string{"100-0", "101-0"}, stream(2, 2, "100-0", "101-0"), LossReset, 0, "101-0", -1},
		{"replaced, the new one longer than the old", streamPos{last: "5-0", added: 5, seen: seen(5)}, []string{"100-0", "101-0", "102-0"}, stream(9, 9, "100-0", "108-0"), LossReset, 0, "102-0", -1},
		{"replaced, nothing new read yet", streamPos{last: "5-0", added: 5, seen: seen(5)}, nil, stream(1, 1, "100-0", "100-0"), LossReset, 0, "5-0", -1},
		{"replaced within the millisecond of the last entry read", streamPos{last: "100-5", added: 50, seen: seen(50)}, []string{"100-6"}, stream(7, 7, "100-0", "100-6"), LossReset, 0, "100-6", -1},
		{"replaced within that millisecond, nothing past it yet", streamPos{last: "100-5", added: 50, seen: seen(50)}, nil, stream(3, 3, "100-0", "100-2"), LossReset, 0, "0-0", 0},
		{"counted again at the end", streamPos{last: "101-0", added: -1, seen: seen(2)}, []string{"102-0"}, stream(3, 3, "100-0", "102-0"), 0, 0, "102-0", 3},
		{"an id in the future, then a new stream", streamPos{last: "9999999999999-0", added: 10}, nil, stream(3, 3, "1700000000000-0", "1700000000002-0"), LossAhead, 0, "0-0", 0},
		{"failover to a replica behind", streamPos{last: "1700000000020-0", added: 20}, nil, stream(18, 18, "1700000000001-0", "1700000000018-0"), LossRewound, 2, "1700000000018-0", 18},
		{"failover to a replica behind, then new entries", streamPos{last: "1700000000020-0", added: 20, seen: seen(20)}, nil, stream(20, 19, "1700000000001-0", "1700000000030-0"), LossRewound, 0, "1700000000020-0", -1},
		{"Redis before 7.0", streamPos{last: "5-0", added: -1}, []string{"6-0"}, stream(3, -1, "8-0", "9-0"), 0, 0, "6-0", -1},
		{"Redis before 7.0, an id in the future", streamPos{last: "9999999999999-0", added: -1}, nil, stream(3, -1, "1700000000000-0", "1700000000002-0"), LossAhead, 0, "0-0", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, loss := tc.pos.next(tc.info, tc.ids)
			if loss.reason != tc.want || loss.entries != tc.entries {
				t.Errorf("loss %v (%d entries), want %v (%d)", loss.reason, loss.entries, tc.want, tc.entries)
			}
			if got.last != tc.wantLast || got.added != tc.wantAdded {
				t.Errorf("position %s (added %d), want %s (%d)", got.last, got.added, tc.wantLast, tc.wantAdded)
			}
		})
	}
}
