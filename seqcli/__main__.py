from seqcli.cli.app import main

main()
