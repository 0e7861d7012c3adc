package directory

// LoadInBatches is Load in transactions of the given number of changes, so that
// a test exercises many transactions with a small snapshot.
var LoadInBatches = load
