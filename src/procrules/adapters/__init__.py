"""Adapters to engines that run procrules elsewhere (a Dask cluster, Spark): thin layers over
`procrules.batch.check_batch`, each behind its own extra. The core never imports them."""
