"""Home visits: urgent visits from any source now; demand, routing and publishing later."""
