"""What a website's own pages tell: which list entries it shows intact (:mod:`.profile`),
which strings its filter deletes (:mod:`.inference`), and which public list it uses
(:mod:`.matching`)."""
