from seqcli.cli import main

main()
