package chat

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// flockHolder returns the process holding a flock on f, read from /proc/locks (0 when not found).
func flockHolder(f *os.File) int {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return 0
	}
	dev := uint64(st.Dev) // uint32 or uint64, depending on the architecture
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	want := strconv.FormatUint(major, 16) + ":" + strconv.FormatUint(minor, 16) + ":" + strconv.FormatUint(uint64(st.Ino), 10)
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer locks.Close()
	sc := bufio.NewScanner(locks)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 1234 08:02:131090 0 EOF" (a waiting lock has "->" after the number)
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] != "FLOCK" {
			continue
		}
		if id := fields[5]; sameDevIno(id, want) {
			pid, _ := strconv.Atoi(fields[4])
			return pid
		}
	}
	return 0
}

// sameDevIno compares two "major:minor:inode" triples, /proc/locks writing major and minor in hex with at
// least two digits.
func sameDevIno(a, b string) bool {
	pa, pb := strings.Split(a, ":"), strings.Split(b, ":")
	if len(pa) != 3 || len(pb) != 3 || pa[2] != pb[2] {
		return false
	}
	for i := range 2 {
		x, err1 := strconv.ParseUint(pa[i], 16, 64)
		y, err2 := strconv.ParseUint(pb[i], 16, 64)
		if err1 != nil || err2 != nil || x != y {
			return false
		}
	}
	return true
}
