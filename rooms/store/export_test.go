package store

// CurrentVersion is the schema version this build writes, for the external tests.
var CurrentVersion = currentVersion
