package store

import "context"

// ExecForTest lets tests tamper with tables directly, as an attacker with
// database access would.
func ExecForTest(ctx context.Context, tx *Tx, q string, args ...any) error {
	_, err := tx.exec(ctx, q, args...)
	return err
}
