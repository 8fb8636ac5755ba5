// The bench-pipe executable: see BenchPipeCommand.
BenchPipeCommand.main()
