// swift run -c release bench-relay [--quick] [--json] [--sweep] [--instructions]
BenchRelayCommand.main()
