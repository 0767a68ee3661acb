# frozen_string_literal: true

# Rack test app with the companion middleware (t/lib/MTPassenger.pm runs it
# under Passenger). The gem is loaded from the repo, not from an install.
$LOAD_PATH.unshift File.expand_path("../../../ruby/lib", __dir__)
require "memtrack/rack"
require_relative "../lib/mt_test_app"

# /hostile is outside the middleware: it sends its own (bad) X-MemTrack,
# which MemTrack::Rack would otherwise replace.
map "/hostile" do
  run ->(env) { MTTestApp.hostile(env) }
end

map "/" do
  use Rack::Head
  use MemTrack::Rack
  run MTTestApp
end
