# frozen_string_literal: true

# The same endpoints without the companion: the module's single-process
# discovery path, and the no-code-change route (SetEnv RUBYOPT
# -r.../ruby/lib/memtrack/preload) add what this file does not.
require_relative "../lib/mt_test_app"

map "/hostile" do
  run ->(env) { MTTestApp.hostile(env) }
end

map "/" do
  use Rack::Head
  run MTTestApp
end
