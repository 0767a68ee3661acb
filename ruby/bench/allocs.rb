# frozen_string_literal: true

# What MemTrack::Rack allocates per request, and the header it adds:
#
#   ruby -Iruby/lib ruby/bench/allocs.rb [requests]
#
# A trivial Rack app that names its controller and action (as the test
# app's /hello does) is called N times directly and N times through the
# middleware; the difference of GC.stat(:total_allocated_objects) per call
# is what the companion allocates (each object is later work for the GC).
# Deterministic: the same Ruby gives the same count on every run.
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "memtrack/rack"

N = Integer(ARGV[0] || 10_000)
APP = lambda do |env|
  env["memtrack.controller"] = "MTTestApp"
  env["memtrack.action"] = "hello"
  [200, { "Content-Type" => "text/plain" }, ["hello\n"]]
end

def env_of_a_request
  { "REQUEST_METHOD" => "GET", "PATH_INFO" => "/hello", "QUERY_STRING" => "",
    "SERVER_NAME" => "127.0.0.1", "SERVER_PORT" => "80", "rack.input" => nil }
end

def allocated_per_call(app, n)
  envs = Array.new(n) { env_of_a_request }
  200.times { app.call(env_of_a_request) }
  a = GC.stat(:total_allocated_objects)
  i = 0
  while i < n
    app.call(envs[i])
    i += 1
  end
  (GC.stat(:total_allocated_objects) - a).fdiv(n)
end

bare = allocated_per_call(APP, N)
[["smaps never", 0], ["smaps every 100", 100]].each do |label, every|
  mw = MemTrack::Rack.new(APP, smaps_every: every)
  with = allocated_per_call(mw, N)
  value = mw.call(env_of_a_request)[1]["X-MemTrack"] || ""
  printf("%-16s objects allocated per request: %.2f (app alone %.2f); " \
         "X-MemTrack line %d bytes\n", label, with - bare, bare,
         "X-MemTrack: #{value}\r\n".bytesize)
end
