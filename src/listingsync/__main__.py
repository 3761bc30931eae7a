from listingsync.cli import main

main()
