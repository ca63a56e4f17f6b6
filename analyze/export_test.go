package analyze

// SetFlushBatch sets how many flows a worker ends per round at the end of
// the input, for the tests of the batched end; it returns the restore.
func SetFlushBatch(n int) (restore func()) {
	old := flushBatch
	flushBatch = n
	return func() { flushBatch = old }
}

func SetRoundPackets(n int) (restore func()) {
	old := roundPackets
	roundPackets = n
	return func() { roundPackets = old }
}
