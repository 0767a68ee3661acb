# frozen_string_literal: true

# A minimal real Rails 6.1 app (Debian's ruby-rails, sqlite3, no Bundler, no
# assets) for mod_memtrack's Passenger tests. Everything it writes (the
# sqlite database, its log) goes to ENV["MT_APP_DATA"], a directory the test
# creates in its temp dir and hands over with SetEnv; nothing is written
# into the repo.
$LOAD_PATH.unshift File.expand_path("../../../../ruby/lib", __dir__)

require "rails"
require "active_record/railtie"
require "action_controller/railtie"
require "memtrack/rack"

DATA_DIR = ENV.fetch("MT_APP_DATA") { File.join(Dir.tmpdir, "mt-rails-#{Process.uid}") }
ENV["DATABASE_URL"] ||= "sqlite3:#{File.join(DATA_DIR, 'rails.sqlite3')}"
ENV["SECRET_KEY_BASE"] ||= "mt-test-only-" + ("0" * 64)

module MtRails
  class Application < Rails::Application
    config.load_defaults 6.1
    config.root = File.expand_path("..", __dir__)
    config.eager_load = Rails.env.production?
    config.cache_classes = true
    config.consider_all_requests_local = false
    config.hosts.clear
    config.logger = ActiveSupport::Logger.new(File.join(DATA_DIR, "rails.log"))
    config.log_level = :info
    config.cache_store = :null_store
    config.active_record.migration_error = false
    config.action_controller.perform_caching = false
    # The companion, outermost: it sees the response before the executor
    # completes (when the body is closed), so the query cache is still full.
    # MT_NO_MIDDLEWARE=1 leaves it out, to test the RUBYOPT preload route.
    config.middleware.insert_before 0, MemTrack::Rack unless ENV["MT_NO_MIDDLEWARE"] == "1"
  end
end
