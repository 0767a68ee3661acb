# frozen_string_literal: true

# What MemTrack::Rack costs per request, measured in Ruby:
#
#   ruby -Iruby/lib ruby/bench/cost.rb [requests]
#
# Calls a trivial Rack app directly and through the middleware, interleaved
# one by one so both see the same GC and cache state, and prints the median
# and p99 of each and of the difference, in microseconds. Three setups: the
# per-request path alone (smaps never), the default (smaps_rollup every
# 100th request), and smaps_rollup on every request (what
# "X-MemTrack-Want: smaps" costs when the module asks).
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "memtrack/rack"
require_relative "interleaved"

N = Integer(ARGV[0] || 20_000)
APP = ->(_env) { [200, { "Content-Type" => "text/plain" }, ["ok"]] }
ENV_OF_A_REQUEST = lambda do
  { "REQUEST_METHOD" => "GET", "PATH_INFO" => "/hello", "QUERY_STRING" => "",
    "SERVER_NAME" => "127.0.0.1", "SERVER_PORT" => "80", "rack.input" => nil }
end

def run(label, mw)
  MemTrackBench.compare(label, APP, mw, N, env: ENV_OF_A_REQUEST)
end

puts "ruby #{RUBY_VERSION}, #{N} requests per setup, pid #{Process.pid}"
run("smaps never", MemTrack::Rack.new(APP, smaps_every: 0))
run("smaps every 100", MemTrack::Rack.new(APP, smaps_every: 100))
run("smaps every request", MemTrack::Rack.new(APP, smaps_every: 1))
