// Anchor translation unit of fusion_actors (the roles live in the subfolders).
