package detect

// Parser turns the lines of one log format into sign-in events. Parsers
// keep state between lines (an sshd connection's user, a syslog file's
// year), so each stream needs its own and they are not safe for concurrent
// use. The packages under internal/format implement it.
type Parser interface {
	// Parse appends the events that line gives to dst. A well-formed line
	// that is not about sign-in adds nothing and returns nil; a malformed
	// line returns an error, possibly with the events it could read. dst
	// must not share memory with line.
	Parse(dst []Event, line []byte) ([]Event, error)
	// Flush appends the events held back waiting for lines that never
	// came (the end of a file).
	Flush(dst []Event) []Event
}
