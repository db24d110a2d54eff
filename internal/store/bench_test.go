package store_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/mamori-dev/mamori/internal/audit"
	"github.com/mamori-dev/mamori/internal/mamoritest"
	"github.com/mamori-dev/mamori/internal/store"
)

// benchEvent is a realistic event: a role grant with actor, address,
// request ID and the names of changed fields.
func benchEvent(i int) audit.Event {
	return audit.New(system, audit.UserUpdated, "user", fmt.Sprintf("0190f000-0000-7000-8000-%012d", i%5000)).
		Fields("display_name", "department").With("version", i%17)
}

// BenchmarkAuditAppend measures events appended per second, one event per
// transaction (as a request writes them), with the Merkle tree nodes.
func BenchmarkAuditAppend(b *testing.B) {
	for _, d := range mamoritest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := mamoritest.OpenDB(b, d, nil)
			// A trail that already has history: the tree border is deep.
			generate(b, db, 100_000)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := db.AppendAudit(system, benchEvent(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkAuditAppendBatch measures appends of 100 events per transaction:
// the commit's fsync is shared, so this shows the cost of the events and
// their tree nodes themselves.
func BenchmarkAuditAppendBatch(b *testing.B) {
	for _, d := range mamoritest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := mamoritest.OpenDB(b, d, nil)
			generate(b, db, 100_000)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				evs := make([]audit.Event, 100)
				for j := range evs {
					evs[j] = benchEvent(i*100 + j)
				}
				if err := db.AppendAudit(system, evs...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// generate appends n events quickly: 5,000 to a transaction.
func generate(b *testing.B, db *store.DB, n int) {
	b.Helper()
	const tx = 5000
	for i := 0; i < n; i += tx {
		evs := make([]audit.Event, 0, tx)
		for j := i; j < min(i+tx, n); j++ {
			evs = append(evs, benchEvent(j))
		}
		if err := db.AppendAudit(system, evs...); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEvents is the trail size of the verification benchmarks:
// MAMORI_BENCH_EVENTS, default 1,000,000.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("MAMORI_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// BenchmarkAuditVerify measures a full verification (every leaf recomputed
// from the stored fields, the whole tree, the signed checkpoint) and proof
// generation on a trail of MAMORI_BENCH_EVENTS events.
func BenchmarkAuditVerify(b *testing.B) {
	for _, d := range mamoritest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			n := benchEvents()
			db := mamoritest.OpenDB(b, d, nil)
			start := time.Now()
			generate(b, db, n)
			b.Logf("%s: generated %d events in %s", d, n, time.Since(start).Round(time.Millisecond))
			svc, trusted := newAudit(b, db)
			if _, _, err := svc.Checkpoint(system); err != nil {
				b.Fatal(err)
			}
			b.Run("verify", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					rep, err := svc.Verify(system, trusted, nil)
					if err != nil || !rep.OK() || rep.Events != uint64(n) {
						b.Fatalf("verify: %v %v", rep.First(), err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
			// Proofs: 1,000 per iteration, at spread-out positions, so one
			// iteration (-benchtime 1x) already averages.
			const proofs = 1000
			b.Run("inclusion-proof", func(b *testing.B) {
				for i := 0; i < b.N*proofs; i++ {
					if _, err := audit.ProveInclusion(context.Background(), db, uint64(i*7919%n), uint64(n)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*proofs), "µs/proof")
			})
			b.Run("consistency-proof", func(b *testing.B) {
				for i := 0; i < b.N*proofs; i++ {
					if _, err := audit.ProveConsistency(context.Background(), db, uint64(1+i*7919%(n-1)), uint64(n)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*proofs), "µs/proof")
			})
		})
	}
}
