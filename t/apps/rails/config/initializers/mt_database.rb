# frozen_string_literal: true

# Create and seed the database on first boot. Passenger may boot two
# processes at once, so the work is done under an exclusive file lock.
Rails.application.config.after_initialize do
  File.open(File.join(DATA_DIR, "db.lock"), File::RDWR | File::CREAT, 0o644) do |lock|
    lock.flock(File::LOCK_EX)
    conn = ActiveRecord::Base.connection
    unless conn.table_exists?(:items)
      ActiveRecord::Migration.verbose = false
      ActiveRecord::Schema.define do
        create_table :items do |t|
          t.string :name, null: false
          t.integer :price, null: false, default: 0
        end
        add_index :items, :name
      end
      rows = (1..50).map { |i| { name: "item#{i}", price: i * 10 } }
      Item.insert_all!(rows)
    end
  end
  ActiveRecord::Base.connection_handler.clear_active_connections!
end
