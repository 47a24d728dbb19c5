package reliability

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sioredis/sioredis/internal/testtools/testenv"
)

// post is one POST /api/messages.
type post struct {
	start, end time.Time
	target     string // instance name
	code       int    // HTTP status; 0 when no answer came
	err        string // the transport error, or the body of a refusal
	id         string // the saved message's id (201, 202)
	seq        int64  // and its sequence number: the relay publishes in this order
}

func (p post) accepted() bool { return p.code == http.StatusCreated || p.code == http.StatusAccepted }

func newHTTPClient() *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// doPost posts one message of the given body (padded to size bytes) to room_777 on the chat at url.
func doPost(client *http.Client, url, body string, size int) post {
	if len(body) < size {
		body += " " + strings.Repeat("x", size-len(body)-1)
	}
	b, _ := json.Marshal(map[string]string{"room": room, "author": "harness", "body": body})
	p := post{start: time.Now()}
	res, err := client.Post(url+"/api/messages", "application/json", strings.NewReader(string(b)))
	if err != nil {
		p.end, p.err = time.Now(), shortErr(err)
		return p
	}
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	p.end, p.code = time.Now(), res.StatusCode
	var r struct {
		Message struct {
			ID  string `json:"id"`
			Seq int64  `json:"seq"`
		} `json:"message"`
	}
	if json.Unmarshal(data, &r) == nil {
		p.id, p.seq = r.Message.ID, r.Message.Seq
	}
	if !p.accepted() {
		p.err = strings.TrimSpace(string(data))
	}
	return p
}

// shortErr names a transport error by its cause: the same refusal at every POST reads as one kind.
func shortErr(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case strings.Contains(err.Error(), "Client.Timeout"):
		return "timeout"
	case strings.Contains(err.Error(), "EOF"):
		return "connection closed"
	}
	return err.Error()
}

// delivery is one message event a listener received.
type delivery struct {
	id string
	at time.Time
}

// messageEvents returns the "message" events the named listener received, in order.
func messageEvents(c *testenv.Clients, name string) []delivery {
	var out []delivery
	for _, ev := range c.Events(name) {
		if ev.Name != "message" {
			continue
		}
		var m struct {
			ID string `json:"id"`
		}
		if ev.DecodeArg(0, &m) == nil {
			out = append(out, delivery{id: m.ID, at: ev.At})
		}
	}
	return out
}

// countEvents returns how many events named event the listener received.
func countEvents(c *testenv.Clients, name, event string) int {
	n := 0
	for _, ev := range c.Events(name) {
		if ev.Name == event {
			n++
		}
	}
	return n
}

// scrape returns the sioredis counters (…_total) that GET /metrics of the chat at url serves, by series.
func scrape(client *http.Client, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", res.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "sioredis_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name := line[:i]
		if base, _, _ := strings.Cut(name, "{"); !strings.HasSuffix(base, "_total") {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// status is one GET /api/status.
func status(client *http.Client, url string) (code, pending int) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/status", nil)
	res, err := client.Do(req)
	if err != nil {
		return 0, -1
	}
	defer res.Body.Close()
	var st struct {
		Pending int `json:"pending"`
	}
	if json.NewDecoder(res.Body).Decode(&st) != nil {
		return res.StatusCode, -1
	}
	return res.StatusCode, st.Pending
}

// lossCounter matches the counters that report a loss; errorCounter those that report failed operations.
var (
	lossCounter      = regexp.MustCompile(`(?i)(loss|lost|gap|evict|unreceived|undeliver|short|miss|fewer|not_durable|trim|dropped)`)
	publisherCounter = regexp.MustCompile(`^(emitter|chat)_`) // of shortCounter's names: the publishing side
	streamCounter    = regexp.MustCompile(`^adapter_stream_`) // losses of a stream, shared by its readers
	errorCounter     = regexp.MustCompile(`(?i)(error|fail)`)
)

// deltas returns the counters of after that grew since before and match re, as "name{labels} +n", sorted.
func deltas(before, after map[string]float64, re *regexp.Regexp) []string {
	var out []string
	for k, v := range after {
		if d := v - before[k]; d > 0 && re.MatchString(k) {
			out = append(out, fmt.Sprintf("%s +%g", shortCounter(k), d))
		}
	}
	sort.Strings(out)
	return out
}

var formatLabel = regexp.MustCompile(`format="[a-z]+",?`)

// shortCounter shortens a series name for the table: sioredis_pubsub_gaps_total{reason="reconnect"} →
// pubsub_gaps{reason="reconnect"}; the format label goes (the lane says it).
func shortCounter(k string) string {
	k = strings.TrimPrefix(k, "sioredis_")
	k = strings.Replace(k, "_total", "", 1)
	k = formatLabel.ReplaceAllString(k, "")
	return strings.TrimSuffix(k, "{}")
}

// logEntry is one line of the chat's JSON log.
type logEntry struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
}

// logSince returns the WARN and ERROR lines each instance logged since t, counted, and their distinct messages.
func logSince(insts []*instance, t time.Time) (warn, errs int, msgs []string) {
	for _, inst := range insts {
		for _, line := range inst.proc.Log() {
			if line.At.Before(t) {
				continue
			}
			var e logEntry
			if json.Unmarshal([]byte(line.Text), &e) != nil {
				continue
			}
			switch e.Level {
			case "WARN":
				warn++
			case "ERROR":
				errs++
			default:
				continue
			}
			if m := e.Level + " " + e.Msg; !slices.Contains(msgs, m) {
				msgs = append(msgs, m)
			}
		}
	}
	return warn, errs, msgs
}

// listenerResult is what one listener received of its lane's accepted messages.
type listenerResult struct {
	name      string
	live      bool // its server ran until the end, and it was not disconnected
	delivered int  // distinct accepted messages received
	lost      int
	dups      int // receptions beyond the first
	unknown   int // messages received whose POST got no 201/202 (saved although the POST failed)
	resyncs   int // "resync" events (the chat tells its pages to reload the history)
	after     int // messages accepted after the fault ended that it received: its server came back
	lossSeen  bool
}

// laneResult is one row of the table.
type laneResult struct {
	fault, lane string
	posted      int
	accepted    int
	pending     int            // accepted messages still in the outbox at the end (the last ones by sequence number); -1: unknown
	answers     map[string]int // POST outcomes other than 201: "202", "500", "connection refused"
	listeners   []listenerResult
	counters    []string // per instance, the loss and error counters that grew: "a: pubsub_gaps +1, …"
	warn, errs  int      // WARN and ERROR log lines since the fault
	logMsgs     []string
	recovery    time.Duration // from the fault to the end of the longest silence of a live listener; <0: never
	resumed     bool          // a message posted after the fault ended reached every live listener
	maxDelay    time.Duration // longest POST → delivery over live listeners
	statusOK    time.Duration // from the end of the fault to every live instance answering /api/status 200; <0: never
	statusEnd   []string      // /api/status codes at the end, per live instance
	goals       []goalResult
	evidence    string
}

type goalResult struct {
	g        goal
	met      bool
	na       bool // met because it does not apply: the Node server did not come back
	enforced bool
	why      string
}

// statusSampler polls /api/status of every instance still up, from the end of the fault, and records when all
// first answered 200.
type statusSampler struct {
	client *http.Client
	d      *deployment
	done   chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	from    time.Time
	okAfter time.Duration // -1 until all answered 200
	stopped bool
}

func newStatusSampler(client *http.Client, d *deployment) *statusSampler {
	return &statusSampler{client: client, d: d, done: make(chan struct{}), okAfter: -1}
}

func (s *statusSampler) start(from time.Time) {
	s.from = from
	s.wg.Go(func() {
		for {
			if allStatusOK(s.client, s.d) {
				s.mu.Lock()
				s.okAfter = time.Since(s.from)
				s.mu.Unlock()
				return
			}
			select {
			case <-s.done:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
}

// stop ends the sampling (once; later calls return the same) and returns when all first answered 200 after the
// fault ended, -1 if they never did.
func (s *statusSampler) stop() time.Duration {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.done)
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.okAfter
}

func allStatusOK(client *http.Client, d *deployment) bool {
	for _, l := range d.lanes {
		for _, inst := range l.instances {
			if inst.dead.Load() {
				continue
			}
			if code, _ := status(client, inst.proc.URL); code != http.StatusOK {
				return false
			}
		}
	}
	return true
}

// drain waits until every live listener has every accepted message of its lane, or until no message has arrived
// for 3 s while every instance up reports an empty outbox (for 8 s when an instance cannot tell: its database is
// gone), or for drainWait at most. An outbox that still holds messages is waited for: they are on their way.
func drain(client *http.Client, d *deployment) {
	deadline := time.Now().Add(drainWait)
	lastCount, lastChange := -1, time.Now()
	for time.Now().Before(deadline) {
		complete, count := true, 0
		for _, l := range d.lanes {
			want := acceptedIDs(l)
			for _, ls := range l.listeners {
				got := map[string]bool{}
				for _, dl := range messageEvents(d.clients, ls.name) {
					got[dl.id] = true
					count++
				}
				if !listenerLive(d, ls) {
					continue
				}
				for id := range want {
					if !got[id] {
						complete = false
						break
					}
				}
			}
		}
		if complete {
			return
		}
		if count != lastCount {
			lastCount, lastChange = count, time.Now()
		}
		quiet := time.Since(lastChange)
		switch pending := outboxes(client, d); {
		case pending == 0 && quiet > 3*time.Second, pending < 0 && quiet > 8*time.Second:
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// outboxes returns the messages pending in the outboxes of the instances up, -1 if one cannot tell.
func outboxes(client *http.Client, d *deployment) int {
	total := 0
	for _, l := range d.lanes {
		for _, inst := range l.instances {
			if inst.dead.Load() {
				continue
			}
			_, pending := status(client, inst.proc.URL)
			if pending < 0 {
				return -1
			}
			total += pending
		}
	}
	return total
}

func acceptedIDs(l *laneRun) map[string]post {
	out := map[string]post{}
	for _, p := range l.posts {
		if p.accepted() && p.id != "" {
			out[p.id] = p
		}
	}
	return out
}

// listenerLive reports whether the listener's server is still up and the listener was not disconnected.
func listenerLive(d *deployment, ls listener) bool {
	if len(d.clients.Disconnects(ls.name)) > 0 {
		return false
	}
	if ls.inst != nil {
		return !ls.inst.dead.Load() && !ls.inst.proc.Exited()
	}
	for _, l := range d.lanes {
		for _, x := range l.listeners {
			if x.name == ls.name && l.node != nil {
				exited, _ := l.node.Exited()
				return !exited
			}
		}
	}
	return false
}

// measure computes the lane's row once the deliveries are in.
func measure(d *deployment, l *laneRun, faultStart, faultEnd time.Time, statusOK time.Duration, ev string) laneResult {
	client := newHTTPClient()
	defer client.CloseIdleConnections()
	r := laneResult{fault: d.f.name, lane: l.id, answers: map[string]int{}, statusOK: statusOK, evidence: ev, recovery: -1}
	accepted := acceptedIDs(l)
	for _, p := range l.posts {
		if p.start.IsZero() {
			continue // not started: the test ended early
		}
		r.posted++
		switch {
		case p.accepted():
			r.accepted++
			if p.code != http.StatusCreated {
				r.answers[strconv.Itoa(p.code)]++
			}
		case p.code != 0:
			r.answers[strconv.Itoa(p.code)]++
		default:
			r.answers[p.err]++
		}
	}
	r.pending = -1
	for _, inst := range l.instances {
		if inst.dead.Load() || inst.proc.Exited() {
			continue
		}
		if m, err := scrape(client, inst.proc.URL); err == nil {
			inst.after = m
		}
		code, pending := status(client, inst.proc.URL)
		r.statusEnd = append(r.statusEnd, fmt.Sprintf("%s %d", inst.name, code))
		r.pending = max(r.pending, pending) // the instances of a lane share one outbox
	}
	// The relay publishes in sequence order: what is still pending is the last messages. They are late, not lost
	// (the recovers goal fails for them).
	late := map[string]bool{}
	if r.pending > 0 {
		bySeq := slices.SortedFunc(maps.Values(accepted), func(a, b post) int { return cmp.Compare(b.seq, a.seq) })
		for _, p := range bySeq[:min(r.pending, len(bySeq))] {
			late[p.id] = true
		}
	}
	for _, inst := range l.instances {
		if inst.after == nil {
			continue
		}
		if grew := append(deltas(inst.before, inst.after, lossCounter), deltas(inst.before, inst.after, errorCounter)...); len(grew) > 0 {
			r.counters = append(r.counters, inst.name+": "+strings.Join(grew, ", "))
		}
	}
	r.warn, r.errs, r.logMsgs = logSince(l.instances, faultStart)

	first := map[string]map[string]time.Time{} // listener → id → first reception
	for _, ls := range l.listeners {
		lr := listenerResult{name: ls.name, live: listenerLive(d, ls), resyncs: countEvents(d.clients, ls.name, "resync")}
		seen := map[string]time.Time{}
		for _, dl := range messageEvents(d.clients, ls.name) {
			p, ok := accepted[dl.id]
			switch {
			case ok && seen[dl.id].IsZero():
				seen[dl.id] = dl.at
				lr.delivered++
				if p.start.After(faultEnd) {
					lr.after++
				}
			case ok:
				lr.dups++
			case !l.warm[dl.id]:
				lr.unknown++
			}
		}
		lr.lost = len(accepted) - lr.delivered
		for id := range late {
			if seen[id].IsZero() {
				lr.lost--
			}
		}
		if lr.lost > 0 {
			// A Go server's listener: its server saw the gap (a loss counter of its instance) or told it (resync).
			// The Node server's: only the publisher can tell, with a counter of the emitter or the chat.
			for _, inst := range l.instances {
				if inst.after == nil {
					continue
				}
				for _, c := range deltas(inst.before, inst.after, lossCounter) {
					// A stream is one log for all its readers: a Go server that reports entries lost from it
					// (evicted, trimmed) reports what the Node server's reader lost with them.
					shared := l.spec.format == streams && streamCounter.MatchString(c)
					if ls.inst == inst || (ls.inst == nil && (publisherCounter.MatchString(c) || shared)) {
						lr.lossSeen = true
					}
				}
			}
			lr.lossSeen = lr.lossSeen || (ls.inst != nil && lr.resyncs > 0)
		}
		// A Node server that never came back (it got nothing accepted after the fault) is the Node stack's failure,
		// shown by its listener's count and the zeroLossNode goal's "does not apply"; it does not stop the
		// product's recovery.
		if lr.live && !(ls.inst == nil && lr.after == 0 && lr.lost > 0) {
			first[ls.name] = seen
			for id, at := range seen {
				r.maxDelay = max(r.maxDelay, at.Sub(accepted[id].start))
			}
		}
		r.listeners = append(r.listeners, lr)
	}
	r.recovery, r.resumed = recovery(first, accepted, faultStart, faultEnd, max(4*d.f.every, 250*time.Millisecond))
	r.goals = evaluate(l, r, d)
	return r
}

// recovery returns how long after faultStart the live listeners received messages again: the end of the longest
// silence (no message for more than quiet) of any live listener that ends after faultStart, 0 when none fell
// silent, -1 when one never received a message posted after the fault ended (delivery did not resume for it, or
// nothing was accepted after the fault). resumed reports that every live listener received such a message.
func recovery(first map[string]map[string]time.Time, accepted map[string]post, faultStart, faultEnd time.Time, quiet time.Duration) (rec time.Duration, resumed bool) {
	if len(first) == 0 {
		return -1, false
	}
	for _, seen := range first {
		back := false
		var times []time.Time
		for id, at := range seen {
			times = append(times, at)
			if !accepted[id].start.Before(faultEnd) {
				back = true
			}
		}
		if !back {
			return -1, false
		}
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		prev := faultStart
		if i, _ := slices.BinarySearchFunc(times, faultStart, func(a, b time.Time) int { return a.Compare(b) }); i > 0 {
			prev = times[i-1]
		}
		for _, at := range times {
			if !at.After(faultStart) {
				continue
			}
			if at.Sub(prev) > quiet {
				rec = max(rec, at.Sub(faultStart))
			}
			prev = at
		}
	}
	return rec, true
}

// evaluate checks the lane's goals.
func evaluate(l *laneRun, r laneResult, d *deployment) []goalResult {
	var out []goalResult
	for _, g := range []goal{zeroLossGo, zeroLossNode, lossSeen, recovers} {
		if l.spec.goals&g == 0 || g == zeroLossNode && l.node == nil {
			continue // not a goal here, or no Node server in this lane
		}
		gr := goalResult{g: g, met: true, enforced: l.spec.enforce&g != 0}
		var why []string
		for _, lr := range r.listeners {
			isNode := strings.HasSuffix(lr.name, "/node")
			switch g {
			case zeroLossGo:
				if !isNode && lr.live && lr.lost > 0 {
					why = append(why, fmt.Sprintf("%s lost %d of %d", lr.name, lr.lost, r.accepted))
				}
			case zeroLossNode:
				if isNode && lr.live && lr.lost > 0 {
					if lr.after == 0 {
						why = append(why, fmt.Sprintf("%s lost %d of %d and got nothing accepted after the fault: the Node server did not come back (not counted)", lr.name, lr.lost, r.accepted))
						gr.na = true
						continue
					}
					why = append(why, fmt.Sprintf("%s lost %d of %d", lr.name, lr.lost, r.accepted))
					gr.met = false
				}
			case lossSeen:
				if isNode && lr.after == 0 {
					continue // a Node server that never came back (see zeroLossNode): the Node stack's failure
				}
				if lr.live && lr.lost > 0 && !lr.lossSeen {
					why = append(why, fmt.Sprintf("%s lost %d with no loss counter nor resync", lr.name, lr.lost))
				}
			}
		}
		switch g {
		case zeroLossGo, lossSeen:
			gr.met = len(why) == 0
		case recovers:
			if r.statusOK < 0 {
				why = append(why, "/api/status not 200 on every instance up at the end ("+strings.Join(r.statusEnd, ", ")+")")
			}
			if !r.resumed {
				why = append(why, "no message posted after the fault reached every live listener")
			}
			if r.pending > 0 {
				why = append(why, fmt.Sprintf("%d accepted messages still in the outbox at the end", r.pending))
			}
			gr.met = len(why) == 0
		}
		gr.why = strings.Join(why, "; ")
		out = append(out, gr)
	}
	return out
}

// renderTable writes the results as markdown: one row per fault and lane, then the faults' evidence.
func renderTable(rows []laneResult, evidence []string) string {
	var b strings.Builder
	b.WriteString("| fault | lane | accepted | Go listeners: received (dup) | Node listener: received (dup) | reported | recovery | max delay | status 200 | goals |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		var goListeners, node []string
		for _, lr := range r.listeners {
			cell := fmt.Sprintf("%d/%d", lr.delivered, r.accepted)
			if !lr.live {
				cell = "(down)"
			}
			if lr.dups > 0 {
				cell += fmt.Sprintf(" (+%d)", lr.dups)
			}
			if lr.unknown > 0 {
				cell += fmt.Sprintf(" +%d unacknowledged", lr.unknown)
			}
			if i := strings.LastIndex(lr.name, "/go-"); i >= 0 {
				goListeners = append(goListeners, lr.name[i+4:]+" "+cell)
			} else {
				node = append(node, cell)
			}
		}
		if len(node) == 0 {
			node = []string{"—"}
		}
		rep := reportedCell(r)
		acc := fmt.Sprintf("%d/%d", r.accepted, r.posted)
		if r.pending > 0 {
			acc += fmt.Sprintf(", %d still in the outbox", r.pending)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.fault, r.lane, acc,
			strings.Join(goListeners, ", "), strings.Join(node, ", "), rep, seconds(r.recovery), seconds(r.maxDelay),
			seconds(r.statusOK), goalsCell(r.goals))
	}
	b.WriteString("\n| fault | topology | what the harness does | what it saw |\n|---|---|---|---|\n")
	for _, e := range evidence {
		b.WriteString(e + "\n")
	}
	return b.String()
}

func reportedCell(r laneResult) string {
	var parts []string
	var answers []string
	for k, n := range r.answers {
		answers = append(answers, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(answers)
	if len(answers) > 0 {
		parts = append(parts, "POST "+strings.Join(answers, ", "))
	}
	parts = append(parts, r.counters...)
	resync := 0
	for _, lr := range r.listeners {
		resync += lr.resyncs
	}
	if resync > 0 {
		parts = append(parts, fmt.Sprintf("resync×%d", resync))
	}
	if r.warn+r.errs > 0 {
		parts = append(parts, fmt.Sprintf("log %d WARN, %d ERROR", r.warn, r.errs))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

func seconds(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func goalsCell(gs []goalResult) string {
	var parts []string
	for _, g := range gs {
		mark := "✗"
		switch {
		case g.na:
			mark = "n/a"
		case g.met:
			mark = "✓"
		}
		if g.enforced {
			mark += "!"
		}
		parts = append(parts, goalNames[g.g]+" "+mark)
	}
	return strings.Join(parts, ", ")
}
