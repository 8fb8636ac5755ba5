// `swift run -c release bench-crypto [--quick] [--json] [--sizes LIST]`
BenchCryptoCommand.main()
