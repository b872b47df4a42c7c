"""Quality control of scraped pages: boilerplate, mojibake, masks, perplexity and
deletion density (:mod:`.checks`), an HTML report (:mod:`.report`), typos (:mod:`.typos`)."""
